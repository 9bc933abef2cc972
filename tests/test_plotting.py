"""The SVG drawings: every cell names its pieces and weight, rows know their step, text stays text."""

import xml.etree.ElementTree as ET

import numpy as np
import pytest

from nmt.plotting import STRIP_WIDTH, attention_heatmap, colour, piece_strip, source_bars

SVG = "{http://www.w3.org/2000/svg}"


def _cells(svg: str):
    return ET.fromstring(svg).findall(f"{SVG}rect[@data-step]")


def test_each_cell_carries_its_pieces_weight_step_and_colour():
    attention = np.array([[0.7, 0.2, 0.1], [0.05, 0.9, 0.05]])
    svg = attention_heatmap(["▁나는", "▁학생", "</s>"], ["▁I", "</s>"], attention, title="톰은 집에 있어요")
    cells = _cells(svg)
    assert len(cells) == 6
    assert [c.get("data-step") for c in cells] == ["1", "1", "1", "2", "2", "2"]
    assert cells[1].find(f"{SVG}title").text == "▁I ← ▁학생: 0.200"
    assert cells[4].get("fill") == colour(0.9) and colour(0.0) == "#440154" and colour(1.0) == "#fde725"
    texts = [t.text for t in ET.fromstring(svg).iter(f"{SVG}text")]
    assert texts[0] == "톰은 집에 있어요" and "▁나는" in texts and "</s>" in texts


def test_the_title_sits_above_the_rotated_source_labels():
    svg = ET.fromstring(attention_heatmap(["▁a-very-long-source-piece"] * 3, ["b"] * 2, np.full((2, 3), 1 / 3), "t"))
    title, first_label = list(svg.iter(f"{SVG}text"))[:2]
    top_of_cells = min(float(c.get("y")) for c in svg.findall(f"{SVG}rect[@data-step]"))
    assert float(title.get("y")) < float(first_label.get("y")) < top_of_cells


def test_user_text_is_escaped_not_markup():
    svg = attention_heatmap(["<img src=x onerror=alert(1)>", "</s>"], ["<script>", "</s>"], np.full((2, 2), 0.5), "&")
    root = ET.fromstring(svg)  # well-formed: nothing of the input became markup
    assert not root.findall(f".//{SVG}img") and not root.findall(f".//{SVG}script")
    assert "<script>" in [t.text for t in root.iter(f"{SVG}text")]


def test_long_sentences_get_a_larger_drawing():
    small = ET.fromstring(attention_heatmap(["a"] * 5, ["b"] * 5, np.full((5, 5), 0.2)))
    large = ET.fromstring(attention_heatmap(["a"] * 40, ["b"] * 30, np.full((30, 40), 0.025)))
    assert float(large.get("width")) > float(small.get("width")) and float(large.get("height")) > float(
        small.get("height")
    )


@pytest.mark.parametrize("values, top", [([0.1, 0.2], 1.0), ([2.5, 0.1], 2.75)])
def test_bars_scale_to_the_largest_value_and_name_their_pieces(values, top):
    root = ET.fromstring(source_bars(["a", "<b>"], values, "total", lines=(0.1,)))
    bars = [r for r in root.iter(f"{SVG}rect")]
    assert [b.find(f"{SVG}title").text for b in bars] == [f"a: {values[0]:.3f}", f"<b>: {values[1]:.3f}"]
    assert max(float(b.get("height")) for b in bars) == pytest.approx(120 * max(values) / top, abs=0.1)
    assert any(f"(max {top:.2f})" in (t.text or "") for t in root.iter(f"{SVG}text"))


def test_a_strip_shades_each_piece_by_its_value_and_has_a_legend_from_0_to_1():
    root = ET.fromstring(piece_strip(["▁I", "<b>", "</s>"], [0.95, 0.2, 1.3], "unsure", "sure"))
    pieces = root.findall(f"{SVG}g[@data-value]")
    assert [g.find(f"{SVG}title").text for g in pieces] == ["▁I: 0.950", "<b>: 0.200", "</s>: 1.000"]
    assert [g.find(f"{SVG}rect").get("fill") for g in pieces] == [colour(0.95), colour(0.2), colour(1.0)]
    # Dark boxes get white text, light ones black.
    assert [g.find(f"{SVG}text").get("fill") for g in pieces] == ["#000", "#fff", "#000"]
    texts = [t.text for t in root.iter(f"{SVG}text")]
    assert "0 unsure" in texts and "1 sure" in texts
    assert root.find(f"{SVG}rect[@class='legend']") is not None


def test_hangul_pieces_get_boxes_twice_as_wide_as_latin_ones_of_as_many_characters():
    root = ET.fromstring(piece_strip(["▁학생", "▁ab"], [0.5, 0.5], "low", "high"))
    hangul, latin = (float(g.find(f"{SVG}rect").get("width")) for g in root.findall(f"{SVG}g[@data-value]"))
    assert hangul > 1.5 * latin - 10


def test_a_long_strip_wraps_onto_more_lines():
    one_line = ET.fromstring(piece_strip(["▁word"] * 5, [0.5] * 5, "low", "high"))
    wrapped = ET.fromstring(piece_strip(["▁word"] * 80, [0.5] * 80, "low", "high"))
    rows = {float(g.find(f"{SVG}rect").get("y")) for g in wrapped.findall(f"{SVG}g[@data-value]")}
    assert len(rows) > 1 and float(wrapped.get("height")) > float(one_line.get("height"))
    assert all(
        float(g.find(f"{SVG}rect").get("x")) + float(g.find(f"{SVG}rect").get("width")) <= STRIP_WIDTH
        for g in wrapped.findall(f"{SVG}g[@data-value]")
    )
