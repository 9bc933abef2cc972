"""Luong (global) attention, "Effective Approaches to Attention-based Neural Machine Translation" (2015).

Shapes: B batch, T target steps, S source positions, H hidden units.
"""

from __future__ import annotations

from keras import layers, ops

from nmt.config import SCORES

# Added to the score of padding positions: exp(-1e9 - max) underflows to exactly 0 in float32,
# so padding gets an alignment weight of exactly 0.
_MASKED_SCORE = -1e9


class LuongAttention(layers.Layer):
    """Alignment weights a_t(s) = softmax_s(score(h_t, h̄_s)) and context vector c_t = Σ_s a_t(s) h̄_s.

    score(h_t, h̄_s) is
    - ``dot``:     h_tᵀ h̄_s
    - ``general``: h_tᵀ W_a h̄_s
    - ``concat``:  v_aᵀ tanh(W_a [h_t; h̄_s])  (computed as W_q h_t + W_k h̄_s)

    The part of the score that depends only on the source (W_a h̄_s, W_k h̄_s) is computed once per
    sentence by :meth:`keys`, so each decoding step costs one matrix product over the source.
    """

    def __init__(self, score: str, units: int, **kwargs):
        super().__init__(**kwargs)
        if score not in SCORES:
            raise ValueError(f"attention score must be one of {SCORES}, got {score!r}")
        self.score, self.units = score, units
        if score == "general":
            self.W_a = layers.Dense(units, use_bias=False, name="W_a")
        elif score == "concat":
            self.W_q = layers.Dense(units, use_bias=False, name="W_q")
            self.W_k = layers.Dense(units, use_bias=False, name="W_k")
            self.v_a = layers.Dense(1, use_bias=False, name="v_a")

    def build(self, input_shape):
        """Creates the score's weights; input_shape (B, T, H) of the queries (the keys have the same H)."""
        shapes = {"W_a": input_shape, "W_q": input_shape, "W_k": input_shape, "v_a": (*input_shape[:-1], self.units)}
        for name, shape in shapes.items():
            layer = getattr(self, name, None)
            if layer is not None and not layer.built:  # keys() may have built W_a or W_k already
                layer.build(shape)
        self.built = True

    def keys(self, encoder_outputs):
        """(B, S, H) encoder outputs h̄_s → (B, S, H) keys to score against."""
        if self.score == "general":
            return self.W_a(encoder_outputs)
        if self.score == "concat":
            return self.W_k(encoder_outputs)
        return encoder_outputs

    def call(self, queries, keys, values, source_mask):
        """queries (B, T, H) decoder states h_t; keys (B, S, H) from :meth:`keys`; values (B, S, H) h̄_s;
        source_mask (B, S) bool, False on padding.

        Returns context vectors (B, T, H) and alignment weights (B, T, S), each row summing to 1, in
        the dtype of `values`.
        """
        if self.score == "concat":
            projected = ops.expand_dims(self.W_q(queries), 2) + ops.expand_dims(keys, 1)  # (B, T, S, H)
            scores = ops.squeeze(self.v_a(ops.tanh(projected)), -1)
        else:
            scores = ops.einsum("bth,bsh->bts", queries, keys)
        # The softmax in float32 whatever the layers compute in: float16 cannot hold _MASKED_SCORE (it
        # becomes -inf), and 16-bit sums over long sources lose the weights' small differences.
        scores = ops.where(ops.expand_dims(source_mask, 1), ops.cast(scores, "float32"), _MASKED_SCORE)
        alignment = ops.cast(ops.softmax(scores, axis=-1), values.dtype)
        context = ops.einsum("bts,bsh->bth", alignment, values)
        return context, alignment
