import dataclasses

import h5py
import numpy as np
import pytest

from conftest import KOR, tiny_config, train_until_scoring_fails
from nmt.checkpoint import build_model, load_checkpoint
from nmt.data import ReadReport, read_tatoeba
from nmt.tokenizer import Tokenizer
from nmt.training import TARGET_SIDE_LAYERS, train, transfer_from


@pytest.fixture(scope="module")
def korean_tokenizer():
    return Tokenizer.train([s for s, _ in read_tatoeba(KOR, "ko", 300, ReadReport())[:3000]], 1200)


@pytest.mark.parametrize("transfer_encoder", [False, True])
def test_init_from_copies_exactly_the_intended_layers(trained_checkpoint, korean_tokenizer, transfer_encoder):
    parent = load_checkpoint(trained_checkpoint)
    config = dataclasses.replace(
        parent.config, source_lang="ko", init_from=str(trained_checkpoint), transfer_encoder=transfer_encoder
    )
    child = build_model(config, korean_tokenizer, parent.target_tokenizer)
    before = {layer.name: [np.array(w) for w in layer.weights] for layer in child.layers if layer.weights}

    copied = transfer_from(trained_checkpoint, child, parent.target_tokenizer, config)

    expected = set(TARGET_SIDE_LAYERS) | {layer.name for layer in child.decoder_layers}
    if transfer_encoder:
        expected |= {layer.name for layer in child.encoder_layers}
    assert set(copied) == expected and "source_embedding" not in copied
    parent_layers = {layer.name: layer for layer in parent.model.layers}
    for layer in child.layers:
        if not layer.weights:
            continue
        for i, weight in enumerate(layer.weights):
            if layer.name in expected:
                np.testing.assert_array_equal(np.array(weight), np.array(parent_layers[layer.name].weights[i]))
            else:
                np.testing.assert_array_equal(np.array(weight), before[layer.name][i])  # untouched


def test_init_from_refuses_another_target_language(trained_checkpoint, korean_tokenizer):
    parent = load_checkpoint(trained_checkpoint)
    config = dataclasses.replace(parent.config, source_lang="ko", target_lang="fr")
    child = build_model(config, korean_tokenizer, parent.target_tokenizer)
    with pytest.raises(ValueError, match="translates into 'en', this model into 'fr'"):
        transfer_from(trained_checkpoint, child, parent.target_tokenizer, config)


def test_init_from_refuses_another_target_vocabulary(trained_checkpoint, korean_tokenizer):
    parent = load_checkpoint(trained_checkpoint)
    config = dataclasses.replace(parent.config, source_lang="ko")
    other = Tokenizer.train([t for _, t in read_tatoeba(KOR, "ko", 300, ReadReport())[:3000]], 400)
    child = build_model(config, korean_tokenizer, other)
    with pytest.raises(ValueError, match="target SentencePiece model differs"):
        transfer_from(trained_checkpoint, child, other, config)


def _child_config(tmp_path, parent, **overrides):
    """A tiny ko→en configuration that starts from `parent`."""
    return tiny_config(
        tmp_path,
        source_lang="ko",
        data=str(KOR),
        source_vocab_size=1500,
        init_from=str(parent),
        output=str(tmp_path / "ko-en"),
        **overrides,
    )


def test_a_transferred_model_trains_saves_and_loads(trained_checkpoint, tmp_path):
    output = train(_child_config(tmp_path, trained_checkpoint, epochs=1))
    child = load_checkpoint(output)
    assert child.target_tokenizer.model_proto == load_checkpoint(trained_checkpoint).target_tokenizer.model_proto
    assert child.metrics["training"]["init_from"] == str(trained_checkpoint)
    assert "output_projection" in child.metrics["training"]["transferred_layers"]


def test_frozen_epochs_keep_the_parent_layers_and_a_resumed_run_trains_them_after(
    trained_checkpoint, tmp_path, monkeypatch
):
    # The budget stops it after the frozen epoch.
    config = _child_config(tmp_path, trained_checkpoint, epochs=2, freeze_transferred_epochs=1, max_minutes=1e-6)
    train_until_scoring_fails(config, monkeypatch)

    def weights(path, layer):
        with h5py.File(path, "r") as f:
            return [np.asarray(f[layer][str(i)], np.float32) for i in range(len(f[layer]))]

    parent_weights, state = trained_checkpoint / "weights.h5", tmp_path / "ko-en.training" / "last.h5"
    for layer in (*TARGET_SIDE_LAYERS, "decoder_lstm_0"):
        for after, before in zip(weights(state, layer), weights(parent_weights, layer)):
            np.testing.assert_array_equal(after, before)

    # Resumed at the end of the frozen epochs: the next epoch trains every layer, with a new optimizer.
    output = train(dataclasses.replace(config, max_minutes=0.0), resume=True)
    history = load_checkpoint(output).metrics["training"]["history"]
    assert [h["epoch"] for h in history] == [1, 2]
    trained = weights(output / "weights.h5", "decoder_lstm_0")
    assert any(not np.array_equal(a, b) for a, b in zip(trained, weights(parent_weights, "decoder_lstm_0")))
