import numpy as np
import pytest
from keras import layers

from nmt.encoder import EncoderLSTM

INPUTS = np.random.default_rng(0).standard_normal((3, 7, 16)).astype("float32")
MASK = np.array([[True] * 7, [True] * 4 + [False] * 3, [True] + [False] * 6])


@pytest.mark.parametrize("bidirectional", [True, False])
def test_matches_keras_lstm_with_the_same_weights_and_padding(bidirectional):
    """Same weights in Keras' layout → same outputs at real positions and same final states; padding
    positions output zeros (attention never reads them) and do not move the state."""
    encoder = EncoderLSTM(8, bidirectional)
    encoder.build(INPUTS.shape)
    lstm = layers.LSTM(8, return_sequences=True, return_state=True)
    keras_layer = layers.Bidirectional(lstm) if bidirectional else lstm
    keras_layer(INPUTS, mask=MASK)
    keras_layer.set_weights(encoder.get_weights())

    outputs, h, c = (np.asarray(x) for x in encoder(INPUTS, MASK))
    expected_outputs, *expected_states = (np.asarray(x) for x in keras_layer(INPUTS, mask=MASK))
    if bidirectional:  # forward h, c, then backward h, c
        expected_states = [np.concatenate(expected_states[0::2], -1), np.concatenate(expected_states[1::2], -1)]

    assert outputs.shape == (3, 7, 16 if bidirectional else 8)
    np.testing.assert_allclose(outputs[MASK], expected_outputs[MASK], atol=1e-6)
    assert not outputs[~MASK].any()
    np.testing.assert_allclose(h, expected_states[0], atol=1e-6)
    np.testing.assert_allclose(c, expected_states[1], atol=1e-6)


def test_a_padded_sentence_encodes_as_it_does_alone():
    encoder = EncoderLSTM(8, bidirectional=True)
    alone = np.asarray(encoder(INPUTS[1:2, :4], np.ones((1, 4), bool))[0])
    padded = np.asarray(encoder(INPUTS[1:2], MASK[1:2])[0])
    np.testing.assert_allclose(padded[:, :4], alone, atol=1e-6)
