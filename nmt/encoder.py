"""One layer of the LSTM encoder, one or two directions, written with ``keras.ops`` only.

Shapes: B batch, S source length, D input size, H units per direction, R directions (1 or 2).
"""

from __future__ import annotations

from keras import initializers, layers, ops

DIRECTIONS = ("forward", "backward")


def _unit_forget_bias(shape, dtype=None):
    """Bias 0 except 1 on the forget gate (gates: input, forget, cell, output), as Jozefowicz et al.
    (2015) recommend and Keras' LSTM does."""
    units = shape[0] // 4
    return ops.cast(ops.concatenate([ops.zeros((units,)), ops.ones((units,)), ops.zeros((2 * units,))]), dtype)


class EncoderLSTM(layers.Layer):
    """An LSTM over the source (R = 1), or a forward and a backward one whose outputs are concatenated
    (R = 2).

    Each direction's input projection x·W + b is one matrix product over all positions, and the
    directions advance together in one scan, so a time step only multiplies the previous states by
    the recurrent weights (one batched product for both directions).

    Weights, per direction (forward first): kernel W (D, 4H), recurrent kernel U (H, 4H), bias (4H,),
    gates in the order input, forget, cell, output: Keras' LSTM layout, so checkpoints of either read
    into the other. Padding positions (mask False) leave the state unchanged and output zeros.
    """

    def __init__(self, units: int, bidirectional: bool, **kwargs):
        super().__init__(**kwargs)
        self.units = units
        self.directions = DIRECTIONS if bidirectional else DIRECTIONS[:1]

    def build(self, input_shape):
        size, units = input_shape[-1], self.units
        self.kernels, self.recurrent_kernels, self.biases = [], [], []
        for direction in self.directions:
            self.kernels.append(
                self.add_weight((size, 4 * units), initializer="glorot_uniform", name=f"{direction}_kernel")
            )
            self.recurrent_kernels.append(
                self.add_weight(
                    (units, 4 * units), initializer=initializers.Orthogonal(), name=f"{direction}_recurrent_kernel"
                )
            )
            self.biases.append(self.add_weight((4 * units,), initializer=_unit_forget_bias, name=f"{direction}_bias"))

    def call(self, inputs, source_mask):
        """inputs (B, S, D), source_mask (B, S) bool, False on padding → outputs (B, S, R·H) and the
        final h and c, each (B, R·H)."""
        n, units = len(self.directions), self.units
        keep = ops.expand_dims(ops.cast(source_mask, inputs.dtype), -1)  # (B, S, 1)
        per_direction = []
        for i, (kernel, bias) in enumerate(zip(self.kernels, self.biases)):
            projected = ops.concatenate([ops.matmul(inputs, kernel) + bias, keep], -1)  # (B, S, 4H + 1)
            per_direction.append(ops.flip(projected, 1) if i else projected)  # the backward one reads S-1 … 0
        # Time first for the scan: (S, R, B, 4H + 1).
        steps = ops.transpose(ops.stack(per_direction), (2, 0, 1, 3))
        recurrent = ops.stack([kernel.value for kernel in self.recurrent_kernels])  # (R, H, 4H)

        def step(carry, inputs_t):
            h, c = carry  # (R, B, H) each
            projected, keep_t = inputs_t[..., :-1], inputs_t[..., -1:]
            z = projected + ops.matmul(h, recurrent)
            gate_i, gate_f, gate_g, gate_o = ops.split(z, 4, axis=-1)
            new_c = ops.sigmoid(gate_f) * c + ops.sigmoid(gate_i) * ops.tanh(gate_g)
            new_h = ops.sigmoid(gate_o) * ops.tanh(new_c)
            h = keep_t * new_h + (1 - keep_t) * h
            c = keep_t * new_c + (1 - keep_t) * c
            # The TensorFlow backend's scan needs outputs shaped like the carry.
            return (h, c), (keep_t * new_h, c)

        batch = ops.shape(inputs)[0]
        zeros = ops.zeros((n, batch, units), dtype=inputs.dtype)
        (h, c), (outputs, _) = ops.scan(step, (zeros, zeros), steps)  # outputs (S, R, B, H)
        outputs = [outputs[:, i] for i in range(n)]
        if n == 2:
            outputs[1] = ops.flip(outputs[1], 0)
        outputs = ops.transpose(ops.concatenate(outputs, -1), (1, 0, 2))
        return outputs, ops.concatenate(list(ops.unstack(h, n)), -1), ops.concatenate(list(ops.unstack(c, n)), -1)
