import keras
import numpy as np
import pytest

from nmt.batching import Batches
from nmt.config import Config
from nmt.model import Seq2Seq, guided_alignment_loss, masked_loss
from nmt.tokenizer import BOS_ID, EOS_ID


def _model(**overrides):
    values = {"embedding_dim": 16, "units": 32, "layers": 2, "dropout": 0.0, "init_decoder_from_encoder": True}
    config = Config(**{**values, **overrides})
    keras.utils.set_random_seed(1)
    model = Seq2Seq(config, 40, 50)
    model.build_weights()
    return model


@pytest.mark.parametrize("init_from_encoder", [True, False])
@pytest.mark.parametrize("input_feeding", [True, False])
@pytest.mark.parametrize("bidirectional", [True, False])
@pytest.mark.parametrize("score", ["dot", "general", "concat"])
def test_step_by_step_inference_reproduces_teacher_forced_decoding(
    score, bidirectional, input_feeding, init_from_encoder
):
    """The inference path (encode once, then one step per piece) reuses the trained layers exactly."""
    model = _model(
        score=score,
        bidirectional=bidirectional,
        input_feeding=input_feeding,
        init_decoder_from_encoder=init_from_encoder,
    )
    source = np.array([[5, 6, 7, 8, EOS_ID], [9, 10, EOS_ID, 0, 0]], np.int32)
    target_input = np.array([[BOS_ID, 11, 12, 13], [BOS_ID, 14, 15, 16]], np.int32)
    encoded = model.encode(source)
    logits, alignment = model.decode(target_input, encoded)
    expected_log_probs = np.asarray(keras.ops.log_softmax(logits, axis=-1))

    values, keys, source_mask, states = encoded
    piece_gates = model.piece_gates()
    attentional = np.zeros((2, 32), np.float32)
    for t in range(target_input.shape[1]):
        log_probs, states, attentional, step_alignment = model.decode_step(
            target_input[:, t], states, attentional, keys, values, source_mask, piece_gates
        )
        np.testing.assert_allclose(np.asarray(log_probs), expected_log_probs[:, t], atol=1e-4)
        np.testing.assert_allclose(np.asarray(step_alignment), np.asarray(alignment)[:, t], atol=1e-5)
    assert (np.asarray(alignment)[1, :, 3:] == 0).all()
    if not init_from_encoder:
        assert all(not np.asarray(h).any() and not np.asarray(c).any() for h, c in encoded[3])


@pytest.mark.parametrize("bidirectional", [True, False])
def test_the_encoder_computes_what_the_keras_layers_compute(bidirectional):
    """The encoder runs its recurrence itself (input products hoisted out of the loop); at every real
    position and in the final states it equals the Keras LSTM layers run on the same weights."""
    model = _model(bidirectional=bidirectional, init_decoder_from_encoder=True)
    source = np.array([[5, 6, 7, 8, EOS_ID], [9, 10, EOS_ID, 0, 0]], np.int32)
    real = source != 0
    keras_values, keras_states = model.source_embedding(source), []
    for layer in model.encoder_layers:
        keras_values, *final = layer(keras_values, mask=real)
        keras_states.append([np.concatenate(final[0::2], -1), np.concatenate(final[1::2], -1)])
    for training in (False, True):  # dropout is 0
        values, keys, _, states = model.encode(source, training=training)
        np.testing.assert_allclose(np.asarray(values)[real], np.asarray(keras_values)[real], atol=1e-5)
        np.testing.assert_allclose(
            np.asarray(keys)[real], np.asarray(model.attention.keys(keras_values))[real], atol=1e-5
        )
        assert not np.asarray(values)[~real].any()
        for (h, c), (keras_h, keras_c) in zip(states, keras_states):
            np.testing.assert_allclose(np.asarray(h), keras_h, atol=1e-5)
            np.testing.assert_allclose(np.asarray(c), keras_c, atol=1e-5)


@pytest.mark.parametrize("score", ["general", "concat"])
def test_the_teacher_forced_decoder_computes_what_the_keras_cells_compute(score):
    """Training's decoder (its weights read once, the input pieces' product hoisted out of the scan)
    equals the Keras LSTM cells and Dense layer stepped one piece at a time with input feeding."""
    model = _model(score=score, init_decoder_from_encoder=True)
    source = np.array([[5, 6, 7, 8, EOS_ID], [9, 10, EOS_ID, 0, 0]], np.int32)
    target_input = np.array([[BOS_ID, 11, 12, 13], [BOS_ID, 14, 15, 16]], np.int32)
    encoded = model.encode(source)
    logits, alignment = model.decode(target_input, encoded, training=True)  # dropout is 0

    values, keys, source_mask, states = encoded
    attentional = np.zeros((2, 32), np.float32)
    for t in range(target_input.shape[1]):
        x = keras.ops.concatenate([model.target_embedding(target_input[:, t]), attentional], -1)
        new_states = []
        for layer, state in zip(model.decoder_layers, states):
            x, state = layer.cell(x, state)
            new_states.append(state)
        states = new_states
        context, step_alignment = model.attention(x[:, None], keys, values, source_mask)
        attentional = model.attentional_layer(keras.ops.concatenate([context[:, 0], x], -1))
        np.testing.assert_allclose(np.asarray(model.output_projection(attentional)), logits[:, t], atol=1e-4)
        np.testing.assert_allclose(np.asarray(step_alignment)[:, 0], np.asarray(alignment)[:, t], atol=1e-5)


def test_masked_loss_ignores_padding_and_applies_label_smoothing():
    logits = np.log(np.array([[[0.7, 0.1, 0.1, 0.1], [0.25] * 4]], np.float32))
    targets = np.array([[0 + 1, 0]])  # second position is padding
    assert float(masked_loss(0.0)(targets, logits)) == pytest.approx(-np.log(0.1), rel=1e-5)
    smoothed = 0.9 * -np.log(0.1) + 0.1 * -np.mean(np.log([0.7, 0.1, 0.1, 0.1]))
    assert float(masked_loss(0.1)(targets, logits)) == pytest.approx(smoothed, rel=1e-5)


def test_guided_alignment_loss_is_zero_at_the_target_and_grows_away_from_it():
    target = np.array([[[1.0, 0.0, 0.0], [0.0, 0.5, 0.5], [0.0, 0.0, 0.0]]], np.float32)  # step 3: no link
    flat = np.full((1, 3, 3), 1 / 3, np.float32)
    assert float(guided_alignment_loss(target, np.where(target.sum(-1, keepdims=True) > 0, target, flat))) == 0.0
    near = np.array([[[0.8, 0.1, 0.1], [0.1, 0.45, 0.45], [1.0, 0.0, 0.0]]], np.float32)
    far = np.array([[[0.1, 0.8, 0.1], [0.9, 0.05, 0.05], [1.0, 0.0, 0.0]]], np.float32)
    assert 0 < float(guided_alignment_loss(target, near)) < float(guided_alignment_loss(target, far))
    # Steps without a target alignment do not count, whatever the model does there.
    assert float(guided_alignment_loss(target, far)) == pytest.approx(
        float(guided_alignment_loss(target, np.concatenate([far[:, :2], flat[:, 2:]], 1))), rel=1e-6
    )


def test_reversal_task_learns_an_anti_diagonal_attention():
    """A model trained to reverse sequences must look at source position n-1-t at step t."""
    rng = np.random.default_rng(0)
    examples = []
    for _ in range(3000):
        seq = rng.integers(4, 40, size=rng.integers(4, 8)).tolist()
        examples.append((seq + [EOS_ID], seq[::-1]))
    model = _model(score="dot", bidirectional=False, input_feeding=False, layers=1, units=64)
    model.compile(optimizer=keras.optimizers.Adam(0.01), loss=masked_loss(0.0))
    model.fit(Batches(examples, 2048, seed=0, shuffle=True), epochs=8, verbose=0)

    seq = [7, 21, 33, 12, 25, 9]
    source = np.array([seq + [EOS_ID]], np.int32)
    target_input = np.array([[BOS_ID] + seq[::-1]], np.int32)
    logits, alignment = model.decode(target_input, model.encode(source))
    assert np.asarray(logits)[0, :-1].argmax(-1).tolist() == seq[::-1]
    looked_at = np.asarray(alignment)[0, : len(seq)].argmax(-1).tolist()
    # Step t looks at source position n-1-t. At step 0 the final eos state, which has just read the
    # last piece, serves as well as the piece itself.
    assert looked_at[0] in (len(seq) - 1, len(seq))
    assert looked_at[1:] == list(range(len(seq) - 2, -1, -1))
