"""The encoder–decoder with Luong attention, written with ``keras.ops`` only (any Keras 3 backend).

Shapes: B batch, S source length, T target length, E embedding size, H hidden units, V vocabulary.

Training calls the model on ``(source_ids, target_input_ids)`` with teacher forcing. Inference uses the
same layers through two entry points, as the original project's separate encoder and decoder models:
:meth:`Seq2Seq.encode` once per sentence, then :meth:`Seq2Seq.decode_step` once per generated piece.
"""

from __future__ import annotations

import keras
from keras import layers, ops

from nmt.attention import LuongAttention
from nmt.config import Config
from nmt.tokenizer import PAD_ID


class Seq2Seq(keras.Model):
    def __init__(self, config: Config, source_vocab_size: int, target_vocab_size: int, **kwargs):
        super().__init__(name="seq2seq", **kwargs)
        self.config = config
        units, n_layers = config.units, config.layers
        self.source_embedding = layers.Embedding(source_vocab_size, config.embedding_dim, name="source_embedding")
        self.target_embedding = layers.Embedding(target_vocab_size, config.embedding_dim, name="target_embedding")
        if config.bidirectional:
            # Each direction gets half the units, so the concatenated states fit the decoder unchanged.
            self.encoder_layers = [
                layers.Bidirectional(
                    layers.LSTM(units // 2, return_sequences=True, return_state=True), name=f"encoder_lstm_{i}"
                )
                for i in range(n_layers)
            ]
        else:
            self.encoder_layers = [
                layers.LSTM(units, return_sequences=True, return_state=True, name=f"encoder_lstm_{i}")
                for i in range(n_layers)
            ]
        self.decoder_layers = [
            layers.LSTM(units, return_sequences=True, return_state=True, name=f"decoder_lstm_{i}")
            for i in range(n_layers)
        ]
        self.attention = LuongAttention(config.score, units, name="attention")
        # W_c in h̃_t = tanh(W_c [c_t; h_t]), the attentional hidden state.
        self.attentional_layer = layers.Dense(units, activation="tanh", use_bias=False, name="attentional_layer")
        self.output_projection = layers.Dense(target_vocab_size, name="output_projection")
        self.dropout = layers.Dropout(config.dropout)

    # ----------------------------------------------------------------------------------------------
    # Encoder

    def encode(self, source_ids, training=False):
        """source_ids (B, S) int, 0-padded →

        - encoder outputs h̄_s (B, S, H),
        - keys for the attention score (B, S, H),
        - source mask (B, S) bool,
        - decoder initial states: a list of [h, c] per layer, each (B, H): the encoder's final states,
          or zeros when ``init_decoder_from_encoder`` is off.
        """
        source_mask = ops.not_equal(source_ids, PAD_ID)
        x = self.dropout(self.source_embedding(source_ids), training=training)
        states = []
        for i, layer in enumerate(self.encoder_layers):
            if self.config.bidirectional:
                x, h_fw, c_fw, h_bw, c_bw = layer(x, mask=source_mask, training=training)
                states.append([ops.concatenate([h_fw, h_bw], -1), ops.concatenate([c_fw, c_bw], -1)])
            else:
                x, h, c = layer(x, mask=source_mask, training=training)
                states.append([h, c])
            if i < len(self.encoder_layers) - 1:
                x = self.dropout(x, training=training)
        if not self.config.init_decoder_from_encoder:
            states = [[ops.zeros_like(h), ops.zeros_like(c)] for h, c in states]
        return x, self.attention.keys(x), source_mask, states

    # ----------------------------------------------------------------------------------------------
    # Decoder

    def _attend(self, decoder_outputs, keys, values, source_mask):
        """h_t (B, T, H) → attentional hidden states h̃_t (B, T, H) and alignment weights (B, T, S)."""
        context, alignment = self.attention(decoder_outputs, keys, values, source_mask)
        attentional = self.attentional_layer(ops.concatenate([context, decoder_outputs], -1))
        return attentional, alignment

    def _step(self, embedded, states, previous_attentional, keys, values, source_mask):
        """One decoder step on an embedded input piece (B, E); see :meth:`decode_step`."""
        x = embedded
        if self.config.input_feeding:
            x = ops.concatenate([x, previous_attentional], -1)
        new_states = []
        for layer, (h, c) in zip(self.decoder_layers, states):
            x, (h, c) = layer.cell(x, [h, c])
            new_states.append([h, c])
        attentional, alignment = self._attend(ops.expand_dims(x, 1), keys, values, source_mask)
        return new_states, attentional[:, 0], alignment[:, 0]

    def decode_step(self, previous_ids, states, previous_attentional, keys, values, source_mask):
        """One step of inference.

        previous_ids (B,) the last generated piece; states [h, c] per layer, each (B, H);
        previous_attentional h̃_{t-1} (B, H) (used with input feeding; zeros at the first step);
        keys, values (B, S, H) and source_mask (B, S) from :meth:`encode`.

        Returns log-probabilities (B, V), the new states, h̃_t (B, H) and alignment weights (B, S).
        """
        embedded = self.target_embedding(previous_ids)
        states, attentional, alignment = self._step(embedded, states, previous_attentional, keys, values, source_mask)
        log_probs = ops.log_softmax(self.output_projection(attentional), axis=-1)
        return log_probs, states, attentional, alignment

    def decode(self, target_input_ids, encoded, training=False):
        """Teacher-forced decoder: target_input_ids (B, T) (bos + reference) → logits (B, T, V) and
        alignment weights (B, T, S)."""
        values, keys, source_mask, states = encoded
        embedded = self.dropout(self.target_embedding(target_input_ids), training=training)
        if self.config.input_feeding:
            attentional, alignment = self._decode_with_input_feeding(embedded, states, keys, values, source_mask)
        else:
            x = embedded
            for layer, state in zip(self.decoder_layers, states):
                x, _, _ = layer(x, initial_state=state, training=training)
            attentional, alignment = self._attend(x, keys, values, source_mask)
        logits = self.output_projection(self.dropout(attentional, training=training))
        return logits, alignment

    def _decode_with_input_feeding(self, embedded, states, keys, values, source_mask):
        """Input feeding makes each step depend on the last h̃, so the decoder runs as a scan over time."""
        batch, source_len = ops.shape(source_mask)[0], ops.shape(source_mask)[1]
        carry = (
            [[h, c] for h, c in states],
            ops.zeros((batch, self.config.units), dtype=embedded.dtype),
            ops.zeros((batch, source_len), dtype=embedded.dtype),
        )

        def step(carry, embedded_t):
            states, previous_attentional, _ = carry
            carry = self._step(embedded_t, states, previous_attentional, keys, values, source_mask)
            # The TensorFlow backend's scan needs outputs shaped like the carry.
            return carry, carry

        _, (_, attentional, alignment) = ops.scan(step, carry, ops.transpose(embedded, (1, 0, 2)))
        return ops.transpose(attentional, (1, 0, 2)), ops.transpose(alignment, (1, 0, 2))

    # ----------------------------------------------------------------------------------------------

    def build(self, input_shape=None):
        """Weights are created by :meth:`build_weights` (or the first call), not from shapes."""

    def call(self, inputs, training=False):
        """(source_ids (B, S), target_input_ids (B, T)) → logits (B, T, V)."""
        source_ids, target_input_ids = inputs
        logits, _ = self.decode(target_input_ids, self.encode(source_ids, training=training), training=training)
        return logits

    def build_weights(self) -> None:
        """Creates every weight by running one tiny batch, so weights can be loaded or copied by name.

        The step runs first: it builds the decoder cells outside any scan, where backends that trace
        the scan (JAX) could not create variables.
        """
        one = ops.ones((1, 2), dtype="int32")
        values, keys, source_mask, states = self.encode(one)
        self.decode_step(one[:, 0], states, ops.zeros((1, self.config.units)), keys, values, source_mask)
        self((one, one))


def masked_loss(label_smoothing: float):
    """Token-level cross-entropy with label smoothing, averaged over non-padding target tokens."""

    def loss(target_output_ids, logits):
        log_probs = ops.log_softmax(logits, axis=-1)
        target_ids = ops.cast(target_output_ids, "int32")
        nll = -ops.take_along_axis(log_probs, ops.expand_dims(target_ids, -1), axis=-1)[..., 0]
        smooth = -ops.mean(log_probs, axis=-1)
        per_token = (1.0 - label_smoothing) * nll + label_smoothing * smooth
        mask = ops.cast(ops.not_equal(target_ids, PAD_ID), logits.dtype)
        return ops.sum(per_token * mask) / ops.maximum(ops.sum(mask), 1.0)

    return loss
