"""The Gradio interface: one text box in, the translation and where the model looked for every piece out.

``build(pairs)`` makes the Blocks; ``pairs`` maps a language-pair name (``fr-en``) to a loaded
:class:`~nmt.translator.Translator`. The same analysis serves the UI and the named ``/analyze`` API.
"""

from __future__ import annotations

import html
import json
import logging
import tempfile
from pathlib import Path

import gradio as gr
import numpy as np

from nmt.analysis import MAX_BEAM, MAX_CHARS, MAX_OUTPUT_PIECES, InputError, analyze, merge_pieces
from nmt.plotting import attention_heatmap, step_attention_bars
from nmt.translator import Translator

log = logging.getLogger("nmt.app")
DOWNLOADS = Path(tempfile.gettempdir()) / "nmt-attention"

DESCRIPTION = """# Luong attention, step by step
Type a sentence, pick a language pair and press **Translate**. The heatmap shows the *alignment weights*
of every decoding step: for each generated piece (rows), how much the model attended to each source
piece (columns). Give a reference translation to get BLEU and chrF."""


def _analyze(pairs: dict[str, Translator], text, pair, reference, beam_size, max_length=None) -> dict:
    """The one place requests reach the model: user errors become messages, nothing else leaks."""
    if pair not in pairs:
        raise gr.Error(f"Unknown language pair {str(pair)[:40]!r}; available: {', '.join(pairs) or 'none'}.")
    try:
        return analyze(pairs[pair], text, reference or "", beam_size, max_length)
    except InputError as error:
        raise gr.Error(str(error)) from None
    except Exception:
        log.exception("analysis failed")
        raise gr.Error("The translation failed on the server; please try another input.") from None


def _segment_views(result: dict, index: int, merged: bool):
    """Heatmap, confidence and slider range for one sentence of a result."""
    segment = result["segments"][index]
    source, target, attention = _pieces_or_words(segment, merged)
    heatmap = attention_heatmap(source, target, attention, title=f"sentence {index + 1}")
    confidence = [(piece, float(p)) for piece, p in zip(segment["target_tokens"], segment["token_probs"])]
    steps = len(segment["target_tokens"])
    slider = gr.Slider(minimum=1, maximum=max(steps, 1), value=1, step=1, interactive=steps > 1)
    return heatmap, confidence, slider


def _pieces_or_words(segment: dict, merged: bool):
    if merged:
        return merge_pieces(segment["source_tokens"], segment["target_tokens"], segment["attention"])
    return segment["source_tokens"], segment["target_tokens"], np.asarray(segment["attention"])


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
    summary = f"**Step {t + 1}** generated `{html.escape(piece)}` with probability **{prob:.3f}**."
    alternatives = {f"{a['token']}": a["prob"] for a in segment["alternatives"][t]}
    bars = step_attention_bars(source, weights, title=f"step {t + 1}: attention while generating {piece}")
    highlighted = [(token, float(w)) for token, w in zip(source, weights)]
    return summary, alternatives, highlighted, bars


def _scores_markdown(result: dict) -> str:
    if result["bleu"] is None:
        return ""
    details = result["bleu_details"]
    precisions = " / ".join(f"{p:.1f}" for p in details["precisions"])
    return (
        f"**BLEU {result['bleu']:.2f}** (sentence BLEU, exponential smoothing) · **chrF {result['chrf']:.2f}**  \n"
        f"1–4-gram precisions {precisions} · brevity penalty {details['brevity_penalty']:.3f}"
    )


def _download(result: dict) -> str:
    DOWNLOADS.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(
        "w", suffix=".json", prefix="attention-", dir=DOWNLOADS, delete=False, encoding="utf-8"
    ) as f:
        json.dump(result, f, ensure_ascii=False, indent=1)
    return f.name


def build(pairs: dict[str, Translator], failures: dict[str, str] | None = None, examples=()) -> gr.Blocks:
    """The app. `failures` maps pairs that could not load to the reason, shown at the top."""
    names = list(pairs)
    with gr.Blocks(title="Seq2seq attention explorer") as demo:
        gr.Markdown(DESCRIPTION)
        if failures:
            gr.Markdown(
                "\n".join(
                    f"⚠️ `{html.escape(name)}` could not be loaded: {html.escape(reason)}"
                    for name, reason in failures.items()
                )
            )
        result_state = gr.State(None)
        with gr.Row():
            with gr.Column(scale=3):
                text = gr.Textbox(
                    label="Source text", lines=3, max_length=MAX_CHARS, placeholder="Je suis très content de te voir."
                )
                reference = gr.Textbox(label="Reference translation (optional)", lines=1)
            with gr.Column(scale=2):
                pair = gr.Dropdown(names, value=names[0] if names else None, label="Language pair")
                beam = gr.Slider(1, MAX_BEAM, value=1, step=1, label="Beam size (1 = greedy)")
                max_length = gr.Slider(5, MAX_OUTPUT_PIECES, value=100, step=1, label="Maximum output length (pieces)")
                translate = gr.Button("Translate", variant="primary")
        notice = gr.Markdown()
        translation = gr.Textbox(label="Translation", buttons=["copy"], interactive=False, elem_id="translation")
        scores = gr.Markdown(elem_id="scores")
        with gr.Row():
            sentence = gr.Dropdown(choices=[], label="Sentence", type="index", interactive=True)
            merged = gr.Checkbox(label="Merge subword pieces into words", value=False)
        heatmap = gr.Plot(label="Attention heatmap", format="png", elem_id="heatmap")
        confidence = gr.HighlightedText(label="Confidence of each generated piece", show_legend=False)
        with gr.Group():
            step = gr.Slider(1, 2, value=1, step=1, label="Decoding step")
            step_summary = gr.Markdown()
            with gr.Row():
                alternatives = gr.Label(label="Top alternatives at this step", num_top_classes=5)
                step_attention = gr.HighlightedText(label="Attention at this step", show_legend=False)
            step_bars = gr.Plot(label="Attention at this step", format="png")
        download = gr.File(label="Download translation and attention (JSON)")
        if examples:
            gr.Examples(examples=[list(e) for e in examples], inputs=[text, pair, reference], label="Examples")

        def run(text_value, pair_value, reference_value, beam_value, max_length_value, merged_value):
            result = _analyze(pairs, text_value, pair_value, reference_value, beam_value, int(max_length_value))
            choices = [f"{i + 1}. {s['source'][:60]}" for i, s in enumerate(result["segments"])]
            views = _segment_views(result, 0, merged_value)
            return (
                result,
                result["translation"],
                result["notice"],
                _scores_markdown(result),
                gr.Dropdown(choices=choices, value=choices[0]),
                *views,
                *_step_views(result, 0, 1, merged_value),
                _download(result),
            )

        translate.click(
            run,
            [text, pair, reference, beam, max_length, merged],
            [
                result_state,
                translation,
                notice,
                scores,
                sentence,
                heatmap,
                confidence,
                step,
                step_summary,
                alternatives,
                step_attention,
                step_bars,
                download,
            ],
            api_visibility="private",
        )

        def select(result, index, merged_value):
            if not result:
                return gr.skip(), gr.skip(), gr.skip(), gr.skip(), gr.skip(), gr.skip(), gr.skip()
            index = index or 0
            return (*_segment_views(result, index, merged_value), *_step_views(result, index, 1, merged_value))

        for control in (sentence.input, merged.change):
            control(
                select,
                [result_state, sentence, merged],
                [heatmap, confidence, step, step_summary, alternatives, step_attention, step_bars],
                api_visibility="private",
            )

        def show_step(result, index, step_value, merged_value):
            if not result:
                return gr.skip(), gr.skip(), gr.skip(), gr.skip()
            return _step_views(result, index or 0, step_value, merged_value)

        step.change(
            show_step,
            [result_state, sentence, step, merged],
            [step_summary, alternatives, step_attention, step_bars],
            api_visibility="private",
        )

        def analyze_api(text: str, pair: str, reference: str, beam_size: int) -> dict:
            """Translate `text` with language pair `pair`; returns the translation, the attention of every
            step per sentence, and BLEU/chrF when `reference` is not empty. beam_size 1 = greedy."""
            return _analyze(pairs, text, pair, reference, beam_size)

        gr.api(analyze_api, api_name="analyze")
    return demo


def load_pairs(specs) -> tuple[dict[str, Translator], dict[str, str], list]:
    """Loads and warms up each checkpoint (a folder, or ``hf:OWNER/REPO[@REVISION]``).

    A local folder is named by its folder name, a Hub checkpoint by the pair in its configuration.
    Returns the pairs that loaded, the reasons of those that did not, and example rows (held-out
    sentences with their references) from each checkpoint.
    """
    from nmt.checkpoint import CheckpointError, resolve

    pairs, failures, examples = {}, {}, []
    for spec in specs:
        try:
            path = resolve(spec)
            translator = Translator.load(path)
        except CheckpointError as error:
            failures[spec] = str(error)
            log.error("not serving %s: %s", spec, error)
            continue
        name = translator.config.pair if spec.startswith("hf:") else path.name
        for beam_size in (1, 2):  # traces the compiled step once, before the first user waits for it
            translator.translate(["warm up"], beam_size=beam_size)
        pairs[name] = translator
        examples += [(e["source"], name, e["reference"]) for e in translator.checkpoint.examples]
    return pairs, failures, examples
