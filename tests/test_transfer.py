import dataclasses

import numpy as np
import pytest

from conftest import KOR, tiny_config
from nmt.checkpoint import build_model, load_checkpoint
from nmt.data import ReadReport, read_tatoeba
from nmt.tokenizer import Tokenizer
from nmt.training import train
from nmt.transfer import TARGET_SIDE_LAYERS, transfer_from


@pytest.fixture(scope="module")
def korean_tokenizer():
    return Tokenizer.train([s for s, _ in list(read_tatoeba(KOR, "ko", 300, ReadReport()))[:3000]], 1200)


def test_init_from_copies_exactly_the_target_side(trained_checkpoint, korean_tokenizer):
    parent = load_checkpoint(trained_checkpoint)
    config = dataclasses.replace(parent.config, source_lang="ko", init_from=str(trained_checkpoint))
    child = build_model(config, korean_tokenizer, parent.target_tokenizer)
    before = {layer.name: [np.array(w) for w in layer.weights] for layer in child.layers if layer.weights}

    copied = transfer_from(trained_checkpoint, child, parent.target_tokenizer, config)

    expected = set(TARGET_SIDE_LAYERS) | {layer.name for layer in child.decoder_layers}
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
    other = Tokenizer.train([t for _, t in list(read_tatoeba(KOR, "ko", 300, ReadReport()))[:3000]], 400)
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
