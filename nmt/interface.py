"""The Gradio interface: one text box in, the translation and where the model looked for every piece out.

``build(pairs)`` makes the Blocks; ``pairs`` (:class:`~nmt.serving.ServedPairs`) maps a language-pair
name (``fr-en``) to its :class:`~nmt.translator.Translator`. The same analysis serves the UI and the
named ``/analyze`` API.
"""

from __future__ import annotations

import html
import json
import logging
import re
import tempfile
from collections.abc import Mapping
from pathlib import Path
from types import SimpleNamespace

import gradio as gr
import numpy as np

from nmt.analysis import (
    MAX_BEAM,
    MAX_CHARS,
    MAX_OUTPUT_PIECES,
    OVER_ATTENDED,
    UNATTENDED,
    InputError,
    analyze,
    merge_pieces,
)
from nmt.checkpoint import CheckedFolder, CheckpointError
from nmt.plotting import attention_heatmap, piece_strip, source_bars
from nmt.serving import ServedPairs
from nmt.translator import Translator

log = logging.getLogger("nmt.app")

DESCRIPTION = """# Luong attention, step by step
Type a sentence, pick a language pair and press **Translate**. The heatmap shows the *alignment weights*
of every decoding step: for each generated piece (rows), how much the model attended to each source
piece (columns). Give a reference translation to get BLEU and chrF."""


def _analyze(pairs: Mapping[str, Translator], text, pair, reference, beam_size, max_length=None) -> dict:
    """The one place requests reach the model: user errors become messages, nothing else leaks."""
    if pair not in pairs:
        raise gr.Error(f"Unknown language pair {str(pair)[:40]!r}; available: {', '.join(pairs) or 'none'}.")
    try:
        return analyze(pairs[pair], text, reference or "", beam_size, max_length)
    except CheckpointError:
        log.exception("%s: its model could not be built", pair)
        raise gr.Error(f"The {pair} model could not be loaded on the server.") from None
    except InputError as error:
        raise gr.Error(str(error)) from None
    except Exception:
        log.exception("analysis failed")
        raise gr.Error("The translation failed on the server; please try another input.") from None


def _pieces_or_words(source_tokens, target_tokens, attention, merged: bool):
    if merged:
        return merge_pieces(source_tokens, target_tokens, attention)
    return source_tokens, target_tokens, np.asarray(attention)


def _heatmap(source_tokens, view: dict, merged: bool, title: str):
    source, target, attention = _pieces_or_words(source_tokens, view["target_tokens"], view["attention"], merged)
    # Merged rows are words, not decoding steps: they open no step.
    return attention_heatmap(source, target, attention, title=title, steps=not merged)


def code_span(text: str) -> str:
    """Markdown that shows `text` literally, as code: the renderer escapes a code span's HTML itself
    (escaping it here too would show `&lt;/s&gt;`); a fence longer than any run of backticks inside
    keeps the span closed."""
    fence = "`" * (max((len(run) for run in re.findall("`+", text)), default=0) + 1)
    return f"{fence} {text} {fence}" if "`" in text else f"`{text}`"


def _coverage_views(segment: dict):
    cov = segment["coverage"]
    bars = source_bars(
        segment["source_tokens"],
        cov["totals"],
        "total attention",
        "coverage: attention received",
        ymax=OVER_ATTENDED,
        lines=(UNATTENDED, OVER_ATTENDED),
    )
    notes = []
    if cov["unattended"]:
        pieces = ", ".join(code_span(segment["source_tokens"][i]) for i in cov["unattended"])
        notes.append(f"Hardly attended (total < {UNATTENDED}, possibly untranslated): {pieces}")
    if cov["over_attended"]:
        pieces = ", ".join(code_span(segment["source_tokens"][i]) for i in cov["over_attended"])
        notes.append(f"Over-attended (total > {OVER_ATTENDED}, possibly translated twice): {pieces}")
    return bars, "  \n".join(notes) or "Every source piece received attention within the usual range."


def _reference_views(segment: dict, merged: bool):
    reference = segment.get("reference")
    if reference is None:
        return None, None, "Type a reference (one sentence per source sentence) to see how the model would produce it."
    heatmap = _heatmap(segment["source_tokens"], reference, merged, "reference (forced decoding)")
    probs = piece_strip(reference["target_tokens"], np.exp(reference["token_log_probs"]), "unlikely", "likely")
    summary = (
        f"Reference log-probability **{reference['total_log_prob']:.2f}** "
        f"({reference['mean_log_prob']:.2f} per piece); the model's own translation: "
        f"**{segment['nbest'][0]['log_prob']:.2f}**."
    )
    return heatmap, probs, summary


def _segment_views(result: dict, index: int, merged: bool):
    """Everything shown for one sentence: heatmaps, confidence, coverage, reference, n-best, alignment."""
    segment = result["segments"][index]
    heatmap = _heatmap(segment["source_tokens"], segment, merged, f"sentence {index + 1}: model translation")
    confidence = piece_strip(segment["target_tokens"], segment["token_probs"], "unsure", "sure")
    steps = len(segment["target_tokens"])
    slider = gr.Slider(minimum=1, maximum=max(steps, 1), value=1, step=1, interactive=steps > 1)
    nbest_choices = [
        f"{rank + 1}. {h['translation']}  (score {h['score']:.2f})" for rank, h in enumerate(segment["nbest"])
    ]
    nbest = gr.Dropdown(choices=nbest_choices, value=nbest_choices[0])
    return (
        heatmap,
        confidence,
        slider,
        *_coverage_views(segment),
        *_reference_views(segment, merged),
        nbest,
        heatmap,  # the first hypothesis is the model's translation
        segment["alignment"],
    )


def _nbest_view(result: dict, index: int, rank: int, merged: bool):
    segment = result["segments"][index]
    rank = min(rank or 0, len(segment["nbest"]) - 1)
    return _heatmap(segment["source_tokens"], segment["nbest"][rank], merged, f"hypothesis {rank + 1}")


def _step_views(result: dict, index: int, step: int, merged: bool):
    """For decoding step `step` (1-based): the piece, its probability, the alternatives and the attention."""
    segment = result["segments"][index]
    t = min(max(int(step), 1), len(segment["target_tokens"])) - 1
    piece, prob = segment["target_tokens"][t], segment["token_probs"][t]
    weights = np.asarray(segment["attention"][t])
    source = segment["source_tokens"]
    if merged:
        source, _, merged_row = merge_pieces(source, [piece], weights[None])
        weights = merged_row[0]
    summary = (
        f"**Step {t + 1}** generated {code_span(piece)} with probability **{prob:.3f}**; "
        f"attention entropy {segment['entropy'][t]:.2f} nats."
    )
    best = segment["alternatives"][t][0]
    if best["token"] != piece and best["prob"] > prob:
        summary += (
            f" {code_span(best['token'])} was more probable at this step ({best['prob']:.3f}); beam search kept "
            "this piece because the whole translation it leads to scored higher."
        )
    alternatives = {a["token"]: a["prob"] for a in segment["alternatives"][t]}
    bars = source_bars(source, weights, "alignment weight", f"step {t + 1}: attention while generating {piece}")
    return summary, alternatives, piece_strip(source, weights, "no weight", "all the weight"), bars


def learning_views(checkpoint: CheckedFolder, index, epoch):
    """The "While it learned" tab: held-out sentence `index` under the weights of epoch `epoch` (the
    last if None) → sentence choices, epoch slider, heatmap and a note. From the checkpoint's record
    alone (its metrics and source tokenizer), without its model."""
    record = (checkpoint.metrics.get("training") or {}).get("attention_by_epoch") or {}
    sentences, epochs = record.get("sentences") or [], record.get("epochs") or []
    if not sentences or not epochs:
        note = "This checkpoint has no record of its attention during training."
        return gr.Dropdown(choices=[], value=None), gr.Slider(1, 2, value=1, interactive=False), None, note
    index = min(int(index or 0), len(sentences) - 1)
    shown = len(epochs) if epoch is None else min(max(int(epoch), 1), len(epochs))
    sentence = sentences[index]
    choices = [
        f"{i + 1}. {checkpoint.source_tokenizer.decode_pieces(s['source_tokens'])}" for i, s in enumerate(sentences)
    ]
    heatmap = attention_heatmap(
        sentence["source_tokens"],
        sentence["target_tokens"],
        epochs[shown - 1]["attention"][index],
        title=f"after epoch {epochs[shown - 1]['epoch']} of {epochs[-1]['epoch']}: forced decoding of the reference",
        steps=False,
    )
    note = "Held-out sentences and their references, under the weights of each epoch: how alignment emerges."
    return (
        gr.Dropdown(choices=choices, value=choices[index]),
        gr.Slider(1, len(epochs), value=shown, step=1, interactive=len(epochs) > 1),
        heatmap,
        note,
    )


def _scores_markdown(result: dict) -> str:
    if result["bleu"] is None:
        return ""
    details = result["bleu_details"]
    precisions = " / ".join(f"{p:.1f}" for p in details["precisions"])
    return (
        f"**BLEU {result['bleu']:.2f}** (sentence BLEU, exponential smoothing) · **chrF {result['chrf']:.2f}**  \n"
        f"1–4-gram precisions {precisions} · brevity penalty {details['brevity_penalty']:.3f}"
    )


def failure_banner(failures: dict[str, str]) -> str:
    """Markdown naming each pair that could not be loaded, and why, as literal text."""
    return "  \n".join(
        f"⚠️ {code_span(name)} could not be loaded: {code_span(reason)}" for name, reason in failures.items()
    )


def compare_views(pairs: ServedPairs, text, first: tuple, second: tuple, index, merged: bool):
    """The Compare tab: sentence `index` of `text` under two (pair, beam size) decodings → two
    heatmaps and a Markdown line each, after any notice and which sentence of how many it is."""
    if (
        first[0] in pairs
        and second[0] in pairs
        and pairs.folder(first[0]).config.source_lang != pairs.folder(second[0]).config.source_lang
    ):
        raise gr.Error(f"{first[0]} and {second[0]} do not translate from the same language.")
    heatmaps, lines = [], []
    for name, beam_size in (first, second):
        result = _analyze(pairs, text, name, "", beam_size)
        segments = result["segments"]
        shown = min(index or 0, len(segments) - 1)
        segment = segments[shown]
        decoding = "greedy" if int(beam_size) == 1 else f"beam {int(beam_size)}"
        heatmaps.append(_heatmap(segment["source_tokens"], segment, merged, f"{name}, {decoding}"))
        lines.append(f"**{html.escape(name)}, {decoding}:** {html.escape(segment['translation'])}")
    if len(segments) > 1:
        lines.insert(0, f"Sentence {shown + 1} of {len(segments)} (choose another above).")
    if result["notice"]:
        lines.insert(0, html.escape(result["notice"]))
    return heatmaps[0], heatmaps[1], "  \n".join(lines)


class Downloads:
    """The downloads of one app (a result as JSON, a heatmap as SVG): in a folder of its own that only
    this user can read (made by ``mkdtemp``, so no other local user can create or read it first),
    keeping the newest `keep`."""

    def __init__(self, keep: int = 32):
        self.keep = keep
        self.folder: Path | None = None

    def write(self, content: dict | str) -> str:
        """Writes a result (a dict, as JSON) or an SVG drawing (a str); returns the file's path."""
        if self.folder is None or not self.folder.is_dir():
            self.folder = Path(tempfile.mkdtemp(prefix="nmt-attention-"))
        suffix = ".json" if isinstance(content, dict) else ".svg"
        with tempfile.NamedTemporaryFile(
            "w", suffix=suffix, prefix="attention-", dir=self.folder, delete=False, encoding="utf-8"
        ) as f:
            f.write(json.dumps(content, ensure_ascii=False, indent=1) if isinstance(content, dict) else content)
        for old in sorted(self.folder.iterdir(), key=lambda p: p.stat().st_mtime_ns)[: -self.keep]:
            old.unlink(missing_ok=True)
        return f.name


# A click on a heatmap cell or row label reports its decoding step to the server.
ROW_CLICK = """element.addEventListener('click', (event) => {
  const cell = event.target.closest('[data-step]');
  if (cell) trigger('click', {step: Number(cell.dataset.step)});
});"""
SVG_CSS = (
    "svg rect[data-weight]:hover { stroke: #fff; stroke-width: 2; } "
    "svg g[data-value]:hover rect { stroke: #222; stroke-width: 2; } "
    "svg { max-width: 100%; }"
)
CLICKABLE_CSS = SVG_CSS + " svg [data-step] { cursor: pointer; }"


def _svg_view(label: str, elem_id: str, clickable: bool = False) -> gr.HTML:
    """An SVG drawing of nmt.plotting, shown as it is (its text is escaped there); a `clickable` one
    reports clicks on its rows (the app opens that step)."""
    return gr.HTML(
        label=label,
        show_label=True,
        elem_id=elem_id,
        js_on_load=ROW_CLICK if clickable else None,
        css_template=CLICKABLE_CSS if clickable else SVG_CSS,
        container=True,
    )


def _input_controls(pairs: ServedPairs) -> SimpleNamespace:
    """Source text, reference, language pair, beam size, output length and the Translate button."""
    names = list(pairs)
    with gr.Row():
        with gr.Column(scale=3):
            text = gr.Textbox(
                label="Source text", lines=3, max_length=MAX_CHARS, placeholder="Je suis très content de te voir."
            )
            reference = gr.Textbox(label="Reference translation (optional)", lines=1)
        with gr.Column(scale=2):
            pair = gr.Dropdown(names, value=names[0] if names else None, label="Language pair")
            default_beam = pairs.folder(names[0]).config.beam_size if names else 1
            beam = gr.Slider(1, MAX_BEAM, value=default_beam, step=1, label="Beam size (1 = greedy)")
            max_length = gr.Slider(5, MAX_OUTPUT_PIECES, value=100, step=1, label="Maximum output length (pieces)")
            translate = gr.Button("Translate", variant="primary")
    return SimpleNamespace(
        text=text, reference=reference, pair=pair, beam=beam, max_length=max_length, button=translate
    )


def _attention_tab() -> SimpleNamespace:
    """The heatmaps of the translation and of the reference, confidence and coverage."""
    with gr.Tab("Attention"):
        with gr.Row():
            heatmap = _svg_view(
                "Attention heatmap (model translation): point at a cell, click a row", "heatmap", clickable=True
            )
            reference_heatmap = _svg_view("Where the model would look to produce the reference", "reference-heatmap")
        reference_summary = gr.Markdown(elem_id="reference-summary")
        with gr.Row():
            confidence = _svg_view("Probability of each generated piece", "confidence")
            reference_probs = _svg_view("Model probability of each reference piece", "reference-probs")
        coverage_plot = _svg_view("Coverage", "coverage")
        heatmap_file = gr.File(label="The heatmap as SVG, for papers and slides", elem_id="heatmap-file")
        coverage_notes = gr.Markdown(elem_id="coverage-notes")
    return SimpleNamespace(
        heatmap=heatmap,
        reference_heatmap=reference_heatmap,
        reference_summary=reference_summary,
        confidence=confidence,
        reference_probs=reference_probs,
        coverage_plot=coverage_plot,
        coverage_notes=coverage_notes,
        heatmap_file=heatmap_file,
    )


def _step_tab() -> SimpleNamespace:
    """One decoding step: the piece, its alternatives and that step's attention."""
    with gr.Tab("Step by step", id="steps"):
        step = gr.Slider(1, 2, value=1, step=1, label="Decoding step")
        summary = gr.Markdown(elem_id="step-summary")
        with gr.Row():
            alternatives = gr.Label(label="Top alternatives at this step", num_top_classes=5)
            attention = _svg_view("Attention at this step, on each source piece (or word)", "step-pieces")
        bars = _svg_view("Attention at this step", "step-bars")
    return SimpleNamespace(step=step, outputs=[summary, alternatives, attention, bars])


def _nbest_tab() -> SimpleNamespace:
    """Every beam hypothesis with its own attention."""
    with gr.Tab("n-best"):
        choice = gr.Dropdown(
            choices=[], label="Hypothesis (beam search keeps the attention of each)", type="index", interactive=True
        )
        heatmap = _svg_view("Attention of this hypothesis", "nbest-heatmap")
    return SimpleNamespace(choice=choice, heatmap=heatmap)


def _learning_tab() -> SimpleNamespace:
    """The attention of a few held-out sentences after every training epoch."""
    with gr.Tab("While it learned"):
        note = gr.Markdown(elem_id="learning-note")
        with gr.Row():
            sentence = gr.Dropdown(choices=[], label="Held-out sentence", type="index", interactive=True)
            epoch = gr.Slider(1, 2, value=1, step=1, label="Epoch", elem_id="learning-epoch")
        heatmap = _svg_view("Attention after that epoch", "learning-heatmap")
    return SimpleNamespace(sentence=sentence, epoch=epoch, outputs=[sentence, epoch, heatmap, note])


def _compare_tab(names: list[str]) -> SimpleNamespace:
    """The same input under a second decoding or pair, side by side."""
    with gr.Tab("Compare"):
        with gr.Row():
            pair = gr.Dropdown(
                names, value=names[0] if names else None, label="Second language pair (same source language)"
            )
            beam = gr.Slider(1, MAX_BEAM, value=1, step=1, label="Second decoding: beam size")
            button = gr.Button("Compare")
        with gr.Row():
            left = _svg_view("First", "compare-first")
            right = _svg_view("Second", "compare-second")
        text = gr.Markdown()
    return SimpleNamespace(pair=pair, beam=beam, button=button, outputs=[left, right, text])


def build(pairs: ServedPairs, failures: dict[str, str] | None = None, examples=()) -> gr.Blocks:
    """The app, its queue bounded. `failures` maps pairs that could not load to the reason, shown at the top."""
    downloads = Downloads()
    # Gradio copies each download into its own cache: those copies go after an hour.
    with gr.Blocks(title="Seq2seq attention explorer", delete_cache=(3600, 3600)) as demo:
        gr.Markdown(DESCRIPTION)
        if failures:
            gr.Markdown(failure_banner(failures))
        result_state = gr.State(None)
        inputs = _input_controls(pairs)
        notice = gr.Markdown(elem_id="notice")
        translation = gr.Textbox(label="Translation", buttons=["copy"], interactive=False, elem_id="translation")
        scores = gr.Markdown(elem_id="scores")
        with gr.Row():
            sentence = gr.Dropdown(choices=[], label="Sentence", type="index", interactive=True)
            merged = gr.Checkbox(label="Merge subword pieces into words", value=False)
        with gr.Tabs() as tabs:
            attention = _attention_tab()
            steps = _step_tab()
            nbest = _nbest_tab()
            compare = _compare_tab(list(pairs))
            learning = _learning_tab()
        with gr.Row():
            alignment = gr.Textbox(
                label="Word alignment (Pharaoh format: source-target, 0-based)", buttons=["copy"], interactive=False
            )
            download = gr.File(label="Download everything shown (JSON: matrices, n-best, alignments)")
        if examples:
            gr.Examples(
                examples=[list(e) for e in examples],
                inputs=[inputs.text, inputs.pair, inputs.reference],
                label="Examples",
            )

        # In the order _segment_views returns them.
        segment_outputs = [
            attention.heatmap,
            attention.confidence,
            steps.step,
            attention.coverage_plot,
            attention.coverage_notes,
            attention.reference_heatmap,
            attention.reference_probs,
            attention.reference_summary,
            nbest.choice,
            nbest.heatmap,
            alignment,
        ]

        def sentence_views(result, index, merged_value):
            """Every view of sentence `index`, and its heatmap's SVG file (written here, from what the
            server drew)."""
            views = _segment_views(result, index, merged_value)
            return (*views, *_step_views(result, index, 1, merged_value), downloads.write(views[0]))

        def run(text_value, pair_value, reference_value, beam_value, max_length_value, merged_value):
            result = _analyze(pairs, text_value, pair_value, reference_value, beam_value, int(max_length_value))
            choices = [f"{i + 1}. {s['source'][:60]}" for i, s in enumerate(result["segments"])]
            return (
                result,
                result["translation"],
                result["notice"],
                _scores_markdown(result),
                gr.Dropdown(choices=choices, value=choices[0]),
                *sentence_views(result, 0, merged_value),
                downloads.write(result),
            )

        views = [*segment_outputs, *steps.outputs, attention.heatmap_file]
        request = [inputs.text, inputs.pair, inputs.reference, inputs.beam, inputs.max_length, merged]
        shown = [result_state, translation, notice, scores, sentence, *views, download]
        # A small spinner, not the full overlay: drawing the overlay on every output costs the browser
        # more than the answer takes (bench/ui_latency.py, both on these cores).
        inputs.button.click(run, request, shown, api_visibility="private", show_progress="minimal")

        def select(result, index, merged_value):
            return sentence_views(result, index or 0, merged_value) if result else [gr.skip()] * len(views)

        for control in (sentence.input, merged.change):
            control(select, [result_state, sentence, merged], views, api_visibility="private", show_progress="minimal")

        def show_step(result, index, step_value, merged_value):
            return _step_views(result, index or 0, step_value, merged_value) if result else [gr.skip()] * 4

        steps.step.change(
            show_step,
            [result_state, sentence, steps.step, merged],
            steps.outputs,
            api_visibility="private",
            show_progress="minimal",
        )

        def open_step(result, event: gr.EventData):
            """A click on a heatmap row: that decoding step, in the step view."""
            step = getattr(event, "step", None)
            if not result or not isinstance(step, int | float):
                return gr.skip(), gr.skip()
            return gr.Slider(value=int(step)), gr.Tabs(selected="steps")

        attention.heatmap.click(open_step, [result_state], [steps.step, tabs], api_visibility="private")

        def show_hypothesis(result, index, rank, merged_value):
            return _nbest_view(result, index or 0, rank, merged_value) if result else gr.skip()

        nbest.choice.input(
            show_hypothesis,
            [result_state, sentence, nbest.choice, merged],
            nbest.heatmap,
            api_visibility="private",
            show_progress="minimal",
        )

        def compare_two(text_value, first_pair, second_pair, first_beam, second_beam, index, merged_value):
            return compare_views(
                pairs, text_value, (first_pair, first_beam), (second_pair, second_beam), index, merged_value
            )

        compare.button.click(
            compare_two,
            [inputs.text, inputs.pair, compare.pair, inputs.beam, compare.beam, sentence, merged],
            compare.outputs,
            api_visibility="private",
        )

        def show_learning(pair_value, index=None, epoch=None):
            return learning_views(pairs.folder(pair_value), index, epoch) if pair_value in pairs else [gr.skip()] * 4

        for event in (demo.load, inputs.pair.change):
            event(show_learning, [inputs.pair], learning.outputs, api_visibility="private")
        for control in (learning.sentence.input, learning.epoch.release):
            control(
                show_learning,
                [inputs.pair, learning.sentence, learning.epoch],
                learning.outputs,
                api_visibility="private",
            )

        def analyze_api(text: str, pair: str, reference: str, beam_size: int) -> dict:
            """Translate `text` with language pair `pair`; returns the translation, the attention of every
            step per sentence, and BLEU/chrF when `reference` is not empty. beam_size 1 = greedy."""
            return _analyze(pairs, text, pair, reference, beam_size)

        gr.api(analyze_api, api_name="analyze")
    # Two cores: two requests at a time; beyond 32 waiting, new ones are told the queue is full.
    demo.queue(max_size=32, default_concurrency_limit=2)
    return demo
