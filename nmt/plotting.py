"""Attention heatmaps, bar charts and strips of shaded pieces as SVG: drawn by the server in a
millisecond, interactive in the browser (every cell names its two pieces and its weight, every row
its decoding step, every piece its value), and the same file downloads for papers and slides.

All text is escaped: pieces come from users' input. Hangul and every other script are drawn by the
browser's own fonts.
"""

from __future__ import annotations

import itertools
import unicodedata
from html import escape

import numpy as np

# Viridis (matplotlib's default colour map) at 0, 0.25, 0.5, 0.75 and 1, interpolated linearly.
VIRIDIS = np.array([[68, 1, 84], [59, 82, 139], [33, 145, 140], [94, 201, 98], [253, 231, 37]], dtype=float)
CELL, FONT = 26, 12  # cell side and font size, px
# Room above the title, where a page may lay its component's label over the drawing's corner.
LABEL_ROOM = 24
CHAR_WIDTH = 0.62 * FONT  # a rough width of one character, for the label margins
# Ids inside an SVG are global to the page that shows it: each colour scale gets its own.
_scale_ids = itertools.count()


def colour(weight: float) -> str:
    """The viridis colour of a weight in [0, 1]."""
    position = min(max(float(weight), 0.0), 1.0) * (len(VIRIDIS) - 1)
    low = min(int(position), len(VIRIDIS) - 2)
    red, green, blue = VIRIDIS[low] + (VIRIDIS[low + 1] - VIRIDIS[low]) * (position - low)
    return f"#{round(red):02x}{round(green):02x}{round(blue):02x}"


def _text_width(text: str) -> float:
    """A rough drawn width: wide characters (Hangul, CJK) count twice."""
    return CHAR_WIDTH * sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _label_width(tokens) -> float:
    return max((_text_width(t) for t in tokens), default=CHAR_WIDTH) + 8


def attention_heatmap(source_tokens, target_tokens, attention, title: str = "", steps: bool = True) -> str:
    """Alignment weights as an SVG heatmap: source pieces across (labels above, rotated), generated
    pieces down, a colour scale on the right, the title above everything.

    Each cell's tooltip (its ``<title>``) reads "generated ← source: weight". With `steps` (rows are
    decoding steps, not merged words) each cell and row label carries ``data-step`` (its 1-based
    row), which the app uses to open that step.
    """
    matrix = np.asarray(attention, dtype=float)
    rows, columns = matrix.shape
    left, top = _label_width(target_tokens), LABEL_ROOM + 24 + 0.72 * _label_width(source_tokens)
    width, height = left + columns * CELL + 70, top + rows * CELL + 10
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="attention-heatmap" width="{width:.0f}" '
        f'height="{height:.0f}" viewBox="0 0 {width:.0f} {height:.0f}" font-family="sans-serif" '
        f'font-size="{FONT}">',
        f'<text x="0" y="{LABEL_ROOM + 14}" font-weight="bold">{escape(title)}</text>',
    ]
    for j, source in enumerate(source_tokens):
        x = left + (j + 0.5) * CELL
        parts.append(
            f'<text x="{x:.1f}" y="{top - 6:.1f}" transform="rotate(-45 {x:.1f} {top - 6:.1f})">{escape(source)}</text>'
        )
    for t, target in enumerate(target_tokens):
        y = top + t * CELL
        step = f' data-step="{t + 1}"' if steps else ""
        parts.append(
            f'<text x="{left - 6:.1f}" y="{y + CELL / 2 + 4:.1f}" text-anchor="end"{step}>{escape(target)}</text>'
        )
        for j, source in enumerate(source_tokens):
            weight = matrix[t, j]
            parts.append(
                f'<rect x="{left + j * CELL:.1f}" y="{y:.1f}" width="{CELL}" height="{CELL}" '
                f'fill="{colour(weight)}"{step} data-weight="{weight:.3f}">'
                f"<title>{escape(target)} ← {escape(source)}: {weight:.3f}</title></rect>"
            )
    parts.append(_colour_scale(left + columns * CELL + 16, top, rows * CELL))
    parts.append("</svg>")
    return "".join(parts)


def _gradient(horizontal: bool) -> tuple[str, str]:
    """A viridis gradient from 0 to 1 (left to right, or bottom to top): its ``<defs>`` and its fill."""
    stops = "".join(
        f'<stop offset="{i / (len(VIRIDIS) - 1):.2f}" stop-color="{colour(i / (len(VIRIDIS) - 1))}"/>'
        for i in range(len(VIRIDIS))
    )
    direction = 'x1="0" y1="0" x2="1" y2="0"' if horizontal else 'x1="0" y1="1" x2="0" y2="0"'
    scale = f"viridis-{next(_scale_ids)}"
    return f'<defs><linearGradient id="{scale}" {direction}>{stops}</linearGradient></defs>', f"url(#{scale})"


def _colour_scale(x: float, y: float, height: float) -> str:
    """A vertical viridis scale from 0 (bottom) to 1 (top), labelled "weight"."""
    height = max(height, 3 * FONT)
    defs, fill = _gradient(horizontal=False)
    return (
        f'{defs}<rect x="{x:.1f}" y="{y:.1f}" width="12" height="{height:.1f}" fill="{fill}"/>'
        f'<text x="{x + 16:.1f}" y="{y + FONT:.1f}">1</text>'
        f'<text x="{x + 16:.1f}" y="{y + height:.1f}">0</text>'
        f'<text x="{x + 16:.1f}" y="{y + height / 2:.1f}" font-size="{FONT - 2}">weight</text>'
    )


STRIP_WIDTH = 640  # px of pieces on a line before a strip wraps
DARK_BELOW = 0.6  # viridis is dark below this value: its pieces are written in white


def piece_strip(pieces, values, low: str, high: str) -> str:
    """Pieces in reading order, each on a box of the heatmap's colour for its value in [0, 1] (a
    probability, a weight) with the tooltip "piece: value", wrapping into lines; under them a legend
    from 0 (`low`) to 1 (`high`), so that colour reads as a value and not as good or bad."""
    row = CELL + 4
    parts, x, y = [], 0.0, float(LABEL_ROOM)
    for piece, value in zip(pieces, values):
        value = min(max(float(value), 0.0), 1.0)
        box = max(_text_width(piece), CHAR_WIDTH) + 10
        if x and x + box > STRIP_WIDTH:
            x, y = 0.0, y + row
        ink = "#fff" if value < DARK_BELOW else "#000"
        parts.append(
            f'<g data-value="{value:.3f}"><title>{escape(piece)}: {value:.3f}</title>'
            f'<rect x="{x:.1f}" y="{y:.1f}" width="{box:.1f}" height="{CELL}" rx="3" fill="{colour(value)}"/>'
            f'<text x="{x + 5:.1f}" y="{y + CELL / 2 + 4:.1f}" fill="{ink}">{escape(piece)}</text></g>'
        )
        x += box + 3
    legend_y = y + row + 8
    defs, fill = _gradient(horizontal=True)
    low_label, high_label = f"0 {low}", f"1 {high}"
    bar_x = _text_width(low_label) + 8
    parts.append(
        f'{defs}<text x="0" y="{legend_y + 10:.1f}" font-size="{FONT - 1}">{escape(low_label)}</text>'
        f'<rect class="legend" x="{bar_x:.1f}" y="{legend_y:.1f}" width="120" height="12" fill="{fill}"/>'
        f'<text x="{bar_x + 126:.1f}" y="{legend_y + 10:.1f}" font-size="{FONT - 1}">{escape(high_label)}</text>'
    )
    width = max(STRIP_WIDTH, x, bar_x + 126 + _text_width(high_label))
    height = legend_y + 20
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="piece-strip" width="{width:.0f}" height="{height:.0f}" '
        f'viewBox="0 0 {width:.0f} {height:.0f}" font-family="sans-serif" font-size="{FONT}">{"".join(parts)}</svg>'
    )


def source_bars(source_tokens, values, label: str, title: str = "", ymax: float = 1.0, lines=()) -> str:
    """A value per source piece as SVG bars (one step's alignment weights, or coverage totals); each
    bar's tooltip gives its piece and value. `lines` are dashed reference values (coverage thresholds)."""
    values = np.asarray(values, dtype=float)
    top_value = max(ymax, float(np.max(values, initial=0.0)) * 1.1)
    plot_height, bottom = 120.0, LABEL_ROOM + 30.0
    label_room = 0.72 * _label_width(source_tokens)
    width, height = 50 + len(source_tokens) * CELL + 10, bottom + plot_height + label_room

    def y_of(value: float) -> float:
        return bottom + plot_height * (1 - value / top_value)

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="source-bars" width="{width:.0f}" height="{height:.0f}" '
        f'viewBox="0 0 {width:.0f} {height:.0f}" font-family="sans-serif" font-size="{FONT}">',
        f'<text x="0" y="{LABEL_ROOM + 14}" font-weight="bold">{escape(title)}</text>',
        f'<text x="0" y="{bottom - 4:.1f}" font-size="{FONT - 2}">{escape(label)} (max {top_value:.2f})</text>',
        f'<line x1="48" y1="{bottom + plot_height:.1f}" x2="{width - 10:.1f}" y2="{bottom + plot_height:.1f}" '
        'stroke="#555"/>',
    ]
    for j, (source, value) in enumerate(zip(source_tokens, values)):
        x = 50 + j * CELL
        parts.append(
            f'<rect x="{x + 3:.1f}" y="{y_of(value):.1f}" width="{CELL - 6}" '
            f'height="{plot_height * value / top_value:.1f}" fill="#3b6fb6">'
            f"<title>{escape(source)}: {value:.3f}</title></rect>"
        )
        label_x, label_y = x + CELL / 2, bottom + plot_height + 12
        parts.append(
            f'<text x="{label_x:.1f}" y="{label_y:.1f}" text-anchor="end" '
            f'transform="rotate(-45 {label_x:.1f} {label_y:.1f})">{escape(source)}</text>'
        )
    for value in lines:
        parts.append(
            f'<line x1="48" y1="{y_of(value):.1f}" x2="{width - 10:.1f}" y2="{y_of(value):.1f}" '
            'stroke="#c0392b" stroke-dasharray="4 3"/>'
        )
    parts.append("</svg>")
    return "".join(parts)
