import io

import numpy as np
import pytest

from nmt.plotting import FONT_FAMILY, attention_heatmap, source_bars


def _render(figure) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()


def test_heatmap_renders_hangul_without_missing_glyphs(recwarn):
    figure = attention_heatmap(
        ["▁나는", "▁학생", "이에요", ".", "</s>"],
        ["▁I", "'", "m", "▁a", "▁student", "</s>"],
        np.full((6, 5), 0.2),
        title="톰은 집에 있어요",
    )
    assert _render(figure).startswith(b"\x89PNG")
    assert "NanumGothic" in FONT_FAMILY[-1]
    assert not [w for w in recwarn if "missing from font" in str(w.message)]


def test_user_text_with_dollar_signs_is_not_parsed_as_math():
    figure = attention_heatmap(["▁$\\frac{$", "$", "</s>"], ["▁$x$", "</s>"], np.full((2, 3), 1 / 3), title="$\\frac{$")
    _render(figure)
    _render(source_bars(["$\\sqrt{$", "</s>"], [0.5, 0.5], "alignment weight", title="$\\sqrt{$"))


def test_long_sentences_get_a_larger_figure():
    small = attention_heatmap(["a"] * 5, ["b"] * 5, np.full((5, 5), 0.2))
    large = attention_heatmap(["a"] * 40, ["b"] * 30, np.full((30, 40), 0.025))
    assert large.get_figwidth() > small.get_figwidth() and large.get_figheight() > small.get_figheight()


@pytest.mark.parametrize("values, top", [([0.1, 0.2], 1.0), ([2.5, 0.1], 2.75)])
def test_bars_scale_to_the_largest_value(values, top):
    axes = source_bars(["a", "b"], values, "total").axes[0]
    assert axes.get_ylim()[1] == pytest.approx(top)
