"""Attention plots with matplotlib's object API (``Figure``, never pyplot, so plots are thread safe).

Hangul needs a font that has it: NanumGothic, shipped inside the koreanize-matplotlib package, is
registered once and listed after DejaVu Sans, so matplotlib falls back to it glyph by glyph.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import matplotlib
import numpy as np
from matplotlib import font_manager
from matplotlib.figure import Figure

matplotlib.use("Agg")


def _register_hangul_font() -> list[str]:
    # find_spec locates the package without importing it (its module imports distutils, gone in 3.12).
    spec = importlib.util.find_spec("koreanize_matplotlib")
    font = Path(spec.submodule_search_locations[0]) / "fonts" / "NanumGothic.ttf" if spec else None
    if font is None or not font.is_file():
        return ["DejaVu Sans"]
    font_manager.fontManager.addfont(str(font))
    return ["DejaVu Sans", font_manager.FontProperties(fname=str(font)).get_name()]


FONT_FAMILY = _register_hangul_font()


def attention_heatmap(source_tokens, target_tokens, attention, title: str = "") -> Figure:
    """Alignment weights as a heatmap: source pieces across, generated pieces down, with a colour bar.

    The figure grows with the number of pieces so labels of long sentences stay readable.
    """
    matrix = np.asarray(attention, dtype=float)
    rows, columns = matrix.shape
    figure = Figure(figsize=(min(2.0 + 0.42 * columns, 30), min(1.6 + 0.36 * rows, 30)), dpi=100, layout="constrained")
    axes = figure.add_subplot()
    image = axes.imshow(matrix, cmap="viridis", vmin=0.0, vmax=1.0, aspect="auto")
    axes.set_xticks(range(columns), source_tokens, rotation=60, ha="right", fontfamily=FONT_FAMILY, parse_math=False)
    axes.set_yticks(range(rows), target_tokens, fontfamily=FONT_FAMILY, parse_math=False)
    axes.set_xlabel("source")
    axes.set_ylabel("generated")
    if title:
        axes.set_title(title, fontfamily=FONT_FAMILY, fontsize=10, parse_math=False)
    figure.colorbar(image, ax=axes, label="alignment weight", shrink=0.8)
    return figure


def source_bars(source_tokens, values, ylabel: str, title: str = "", ymax: float = 1.0, lines=()) -> Figure:
    """A value per source piece as bars: one step's alignment weights, or the coverage totals.

    `lines` are horizontal reference lines (e.g. the coverage thresholds).
    """
    figure = Figure(figsize=(min(2.5 + 0.42 * len(source_tokens), 30), 2.8), dpi=100, layout="constrained")
    axes = figure.add_subplot()
    axes.bar(range(len(source_tokens)), values, color="#3b6fb6")
    for y in lines:
        axes.axhline(y, color="#c0392b", linestyle="--", linewidth=1)
    axes.set_xticks(
        range(len(source_tokens)), source_tokens, rotation=60, ha="right", fontfamily=FONT_FAMILY, parse_math=False
    )
    axes.set_ylim(0, max(ymax, float(np.max(values, initial=0.0)) * 1.1))
    axes.set_ylabel(ylabel)
    if title:
        axes.set_title(title, fontfamily=FONT_FAMILY, fontsize=10, parse_math=False)
    return figure
