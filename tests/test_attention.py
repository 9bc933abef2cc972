import numpy as np
import pytest

from nmt.attention import LuongAttention


@pytest.mark.parametrize("score", ["dot", "general", "concat"])
def test_alignment_rows_are_distributions_and_exactly_zero_on_padding(score):
    rng = np.random.default_rng(0)
    attention = LuongAttention(score, 8)
    values = rng.normal(size=(2, 5, 8)).astype("float32")
    queries = rng.normal(size=(2, 3, 8)).astype("float32")
    mask = np.array([[True, True, True, False, False], [True] * 5])
    context, alignment = attention(queries, attention.keys(values), values, mask)
    context, alignment = np.asarray(context), np.asarray(alignment)
    assert alignment.shape == (2, 3, 5) and context.shape == (2, 3, 8)
    np.testing.assert_allclose(alignment.sum(-1), 1.0, rtol=1e-6)
    assert (alignment[0, :, 3:] == 0.0).all()
    assert (alignment[1] > 0).all()
    np.testing.assert_allclose(context, np.einsum("bts,bsh->bth", alignment, values), rtol=1e-5, atol=1e-6)


def test_dot_score_attends_to_the_matching_source_vector():
    values = np.eye(4, dtype="float32")[None] * 10.0  # four orthogonal source vectors
    queries = values[:, [2, 0]]
    _, alignment = LuongAttention("dot", 4)(queries, values, values, np.ones((1, 4), bool))
    assert np.asarray(alignment).argmax(-1).tolist() == [[2, 0]]


def test_unknown_score_is_refused():
    with pytest.raises(ValueError, match="dot"):
        LuongAttention("cosine", 4)
