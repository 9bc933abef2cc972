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
    def __init__(
        self, config: Config, source_vocab_size: int, target_vocab_size: int, recurrent_init: bool = True, **kwargs
    ):
        """`recurrent_init` False skips the orthogonal initialisation of the LSTMs' recurrent kernels
        (zeros instead), for a model whose weights are read from a file next: its QR decompositions
        would more than double the time it takes to load a checkpoint (0.2 s for fr-en)."""
        super().__init__(name="seq2seq", **kwargs)
        self.config = config
        units, n_layers = config.units, config.layers
        recurrent = "orthogonal" if recurrent_init else "zeros"
        self.source_embedding = layers.Embedding(source_vocab_size, config.embedding_dim, name="source_embedding")
        self.target_embedding = layers.Embedding(target_vocab_size, config.embedding_dim, name="target_embedding")
        if config.bidirectional:
            # Each direction gets half the units, so the concatenated states fit the decoder unchanged.
            self.encoder_layers = [
                layers.Bidirectional(
                    layers.LSTM(units // 2, return_sequences=True, return_state=True, recurrent_initializer=recurrent),
                    name=f"encoder_lstm_{i}",
                )
                for i in range(n_layers)
            ]
        else:
            self.encoder_layers = [
                layers.LSTM(
                    units,
                    return_sequences=True,
                    return_state=True,
                    recurrent_initializer=recurrent,
                    name=f"encoder_lstm_{i}",
                )
                for i in range(n_layers)
            ]
        self.decoder_layers = [
            layers.LSTM(
                units,
                return_sequences=True,
                return_state=True,
                recurrent_initializer=recurrent,
                name=f"decoder_lstm_{i}",
            )
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

        Each layer runs :func:`_lstm_scan`, which computes the Keras layer's results at the real
        positions with its input products hoisted out of the recurrence; padding positions of the
        outputs are zeros.
        """
        source_mask = ops.not_equal(source_ids, PAD_ID)
        x = self.dropout(self.source_embedding(source_ids), training=training)
        states = []
        for i, layer in enumerate(self.encoder_layers):
            x, *final = self._encoder_layer(layer, x, source_mask)
            # final: h, c of each direction; the decoder's state is both directions side by side.
            states.append([ops.concatenate(final[0::2], -1), ops.concatenate(final[1::2], -1)])
            if i < len(self.encoder_layers) - 1:
                x = self.dropout(x, training=training)
        if not self.config.init_decoder_from_encoder:
            states = [[ops.zeros_like(h), ops.zeros_like(c)] for h, c in states]
        return x, self.attention.keys(x), source_mask, states

    def _encoder_layer(self, layer, x, source_mask):
        """What the Keras encoder layer computes at the real positions (padding gives zero outputs),
        by :func:`_lstm_scan`: x (B, S, I) → outputs (B, S, H), then h, c (B, H) of each direction."""
        if not self.config.bidirectional:
            return _lstm_scan(layer.cell, x, source_mask, reverse=False)
        forward, *forward_final = _lstm_scan(layer.forward_layer.cell, x, source_mask, reverse=False)
        backward, *backward_final = _lstm_scan(layer.backward_layer.cell, x, source_mask, reverse=True)
        return ops.concatenate([forward, backward], -1), *forward_final, *backward_final

    # ----------------------------------------------------------------------------------------------
    # Decoder

    def _attend(self, decoder_outputs, keys, values, source_mask):
        """h_t (B, T, H) → attentional hidden states h̃_t (B, T, H) and alignment weights (B, T, S)."""
        context, alignment = self.attention(decoder_outputs, keys, values, source_mask)
        attentional = self.attentional_layer(ops.concatenate([context, decoder_outputs], -1))
        return attentional, alignment

    def _decoder_weights(self, dtype) -> dict:
        """The weights a decoder step multiplies by, in the compute dtype: read (and under a mixed
        policy cast) once per sentence batch, not at every step as the Keras cells would."""
        first = self.decoder_layers[0].cell
        return {
            "feed": ops.cast(first.kernel[self.config.embedding_dim :], dtype),  # h̃_{t-1}'s rows
            "recurrent": [ops.cast(layer.cell.recurrent_kernel, dtype) for layer in self.decoder_layers],
            "upper": [
                (ops.cast(layer.cell.kernel, dtype), ops.cast(layer.cell.bias, dtype))
                for layer in self.decoder_layers[1:]
            ],
            "attentional": ops.cast(self.attentional_layer.kernel, dtype),  # W_c
        }

    def _decoder_step(self, weights, input_gates, states, previous_attentional, keys, values, source_mask):
        """One decoder step, in training (teacher forcing) and inference alike.

        weights from :meth:`_decoder_weights`; input_gates (B, 4H): the input piece's share of the
        first LSTM's gate pre-activations (embedding times input kernel, plus bias); states [h, c] per
        layer, each (B, H); previous_attentional h̃_{t-1} (B, H) (used with input feeding).
        Returns the new states, h̃_t (B, H) and alignment weights (B, S).
        """
        gates = input_gates + ops.matmul(states[0][0], weights["recurrent"][0])
        if self.config.input_feeding:
            gates = gates + ops.matmul(previous_attentional, weights["feed"])
        x, c = _lstm_update(self.decoder_layers[0].cell, gates, states[0][1])
        new_states = [[x, c]]
        for layer, (kernel, bias), recurrent, (h, c) in zip(
            self.decoder_layers[1:], weights["upper"], weights["recurrent"][1:], states[1:]
        ):
            x, c = _lstm_update(layer.cell, ops.matmul(x, kernel) + ops.matmul(h, recurrent) + bias, c)
            new_states.append([x, c])
        context, alignment = self.attention(ops.expand_dims(x, 1), keys, values, source_mask)
        attentional = self.attentional_layer.activation(
            ops.matmul(ops.concatenate([context[:, 0], x], -1), weights["attentional"])
        )
        return new_states, attentional, alignment[:, 0]

    def piece_gates(self):
        """(V, 4H): every target piece's share of the first decoder LSTM's gate pre-activations, its
        embedding times the embedding rows of that layer's input kernel, plus the bias.

        :meth:`decode_step` reads one row of it instead of multiplying by those E × 4H weights at every
        step: a step's time follows the bytes of weights it reads (bench/README.md). It is a copy:
        compute it again after the weights change.
        """
        cell = self.decoder_layers[0].cell
        return ops.matmul(self.target_embedding.embeddings, cell.kernel[: self.config.embedding_dim]) + cell.bias

    def decode_step(self, previous_ids, states, previous_attentional, keys, values, source_mask, piece_gates):
        """One step of inference: the maths of one step of :meth:`decode`, arranged to read fewer weights.

        previous_ids (B,) the last generated piece; states [h, c] per layer, each (B, H);
        previous_attentional h̃_{t-1} (B, H) (used with input feeding; zeros at the first step);
        keys, values (B, S, H) and source_mask (B, S) from :meth:`encode`; piece_gates (V, 4H) from
        :meth:`piece_gates`.

        Returns log-probabilities (B, V), the new states, h̃_t (B, H) and alignment weights (B, S).
        """
        states, attentional, alignment = self._decoder_step(
            self._decoder_weights(keys.dtype),
            ops.take(piece_gates, previous_ids, axis=0),
            states,
            previous_attentional,
            keys,
            values,
            source_mask,
        )
        # The output projection as two products over halves of h̃_t, which the two cores compute side by
        # side: one product would read the whole H × V kernel on one core.
        kernel, half = self.output_projection.kernel, self.config.units // 2
        logits = (
            ops.matmul(attentional[:, :half], kernel[:half])
            + ops.matmul(attentional[:, half:], kernel[half:])
            + self.output_projection.bias
        )
        return ops.log_softmax(logits, axis=-1), states, attentional, alignment

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
        """Input feeding makes each step depend on the last h̃, so the decoder runs as a scan over time;
        the input pieces' product with the first LSTM's input kernel is one product before it."""
        batch, source_len = ops.shape(source_mask)[0], ops.shape(source_mask)[1]
        first, dtype = self.decoder_layers[0].cell, embedded.dtype
        input_gates = ops.matmul(embedded, ops.cast(first.kernel[: self.config.embedding_dim], dtype)) + ops.cast(
            first.bias, dtype
        )  # (B, T, 4H)
        weights = self._decoder_weights(dtype)
        carry = (
            [[h, c] for h, c in states],
            ops.zeros((batch, self.config.units), dtype=dtype),
            ops.zeros((batch, source_len), dtype=dtype),
        )

        def step(carry, input_gates_t):
            states, previous_attentional, _ = carry
            carry = self._decoder_step(weights, input_gates_t, states, previous_attentional, keys, values, source_mask)
            # The TensorFlow backend's scan needs outputs shaped like the carry.
            return carry, carry

        _, (_, attentional, alignment) = ops.scan(step, carry, ops.transpose(input_gates, (1, 0, 2)))
        return ops.transpose(attentional, (1, 0, 2)), ops.transpose(alignment, (1, 0, 2))

    # ----------------------------------------------------------------------------------------------

    def build(self, input_shape=None):
        """Weights are created by :meth:`build_weights`, which must run before the first call."""

    def call(self, inputs, training=False, with_alignment=None):
        """(source_ids (B, S), target_input_ids (B, T)) → logits (B, T, V), and `with_alignment` (by
        default under guided alignment, whose loss needs them) also the alignment weights (B, T, S)."""
        source_ids, target_input_ids = inputs
        logits, alignment = self.decode(target_input_ids, self.encode(source_ids, training=training), training=training)
        if with_alignment is None:
            with_alignment = bool(self.config.guided_alignment)
        return (logits, alignment) if with_alignment else logits

    def build_weights(self) -> None:
        """Creates every weight from the configured sizes, so weights can be loaded or copied by name.

        Each layer is built from its input shape rather than by running a batch through the model:
        that would execute every operation once, eagerly, for nothing (half of a checkpoint's load).
        """
        embedding, units = self.config.embedding_dim, self.config.units
        self.source_embedding.build((None, None))
        self.target_embedding.build((None, None))
        width = embedding
        for layer in self.encoder_layers:
            layer.build((None, None, width))
            width = units
        width = embedding + units if self.config.input_feeding else embedding
        for layer in self.decoder_layers:
            layer.build((None, None, width))
            width = units
        self.attention.build((None, None, units))
        self.attentional_layer.build((None, 2 * units))
        self.output_projection.build((None, units))
        self.built = True


def _lstm_update(cell, gates, c):
    """The Keras LSTM cell's update: gate pre-activations (B, 4H) in its order (input, forget,
    candidate, output) and the previous cell state c (B, H) → the new h and c (B, H), in the dtype of
    `gates`.

    The activations and their products are computed in float32 whatever the policy: under mixed
    bfloat16 a training step on these CPUs is faster so (bench/README.md), and the cell state keeps
    its precision within the step.
    """
    dtype = gates.dtype
    input_gate, forget_gate, candidate, output_gate = ops.split(ops.cast(gates, "float32"), 4, axis=-1)
    c = cell.recurrent_activation(forget_gate) * ops.cast(c, "float32") + cell.recurrent_activation(
        input_gate
    ) * cell.activation(candidate)
    return ops.cast(cell.recurrent_activation(output_gate) * cell.activation(c), dtype), ops.cast(c, dtype)


def _lstm_scan(cell, x, mask, reverse: bool):
    """An LSTM layer's recurrence: x (B, S, I) and mask (B, S) bool → outputs (B, S, H),
    zero at padding, and the final h, c (B, H), which padding leaves unchanged; `reverse` runs from
    the last position to the first.

    The input product of all positions is one product before the loop, so each step reads only the
    recurrent weights; the Keras layer multiplies by the input weights (and under a mixed policy casts
    every weight) again at every step.
    """
    kernel, recurrent_kernel, bias = (ops.cast(w, x.dtype) for w in (cell.kernel, cell.recurrent_kernel, cell.bias))
    projected = ops.matmul(x, kernel) + bias  # (B, S, 4H)
    # One sequence to scan, the mask as its last column: the TensorFlow backend's scan takes only one
    # when the length is not known in advance.
    steps = ops.concatenate([projected, ops.cast(ops.expand_dims(mask, -1), projected.dtype)], -1)
    zeros = ops.zeros((ops.shape(x)[0], cell.units), projected.dtype)

    def step(carry, inputs):
        h, c = carry
        real = inputs[:, -1:] > 0
        new_h, new_c = _lstm_update(cell, inputs[:, :-1] + ops.matmul(h, recurrent_kernel), c)
        h, c = ops.where(real, new_h, h), ops.where(real, new_c, c)
        # The TensorFlow backend's scan needs outputs shaped like the carry.
        return (h, c), (ops.where(real, new_h, 0.0), c)

    (h, c), (outputs, _) = ops.scan(step, (zeros, zeros), ops.transpose(steps, (1, 0, 2)), reverse=reverse)
    return ops.transpose(outputs, (1, 0, 2)), h, c


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


def guided_alignment_loss(target_alignment, alignment):
    """KL(target ‖ alignment weights), averaged over the target steps that have a target alignment.

    target_alignment (B, T, S): per step a distribution over the source positions it should attend
    to, or all zeros where there is none (no link, padding); alignment (B, T, S): the model's. Zero
    exactly when the model attends as the target says.
    """
    target_alignment = ops.cast(target_alignment, alignment.dtype)
    supervised = ops.cast(ops.sum(target_alignment, -1) > 0, alignment.dtype)
    log_ratio = ops.log(ops.maximum(target_alignment, 1e-9)) - ops.log(ops.maximum(alignment, 1e-9))
    divergence = ops.sum(target_alignment * log_ratio, -1)
    return ops.sum(divergence * supervised) / ops.maximum(ops.sum(supervised), 1.0)
