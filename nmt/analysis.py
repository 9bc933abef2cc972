"""What the app and its ``/analyze`` API show: translation, attention, confidence and scores of a text.

Everything here is plain data (lists, floats, strings), so the same result feeds the JSON API, the
plots and the downloads.
"""

from __future__ import annotations

import re

import numpy as np

from nmt.data import normalize
from nmt.metrics import sentence_scores
from nmt.translator import Translator

MAX_CHARS = 2000  # input beyond this is cut (with a notice) before it reaches the model
MAX_SENTENCES = 20
MAX_BEAM = 10
MAX_OUTPUT_PIECES = 200
WORD_START = "▁"  # SentencePiece marks the first piece of a word with it

# A sentence ends at . ! ? (and their full-width forms) followed by space, or at a line break.
_SENTENCE_END = re.compile(r"(?<=[.!?。！？])\s+|\n+")


class InputError(ValueError):
    """The request cannot be answered as asked; the message says why, for the user."""


def split_sentences(text: str) -> list[str]:
    return [s for s in (normalize(part) for part in _SENTENCE_END.split(text)) if s]


def check_request(text, beam_size) -> tuple[list[str], int, str]:
    """Validates user input on the server side. Returns sentences, beam size and a notice ('' if none)."""
    if not isinstance(text, str):
        raise InputError("The text must be a string.")
    try:
        beam_size = int(beam_size)
    except (TypeError, ValueError):
        raise InputError(f"The beam size must be a whole number from 1 to {MAX_BEAM}.") from None
    if not 1 <= beam_size <= MAX_BEAM:
        raise InputError(f"The beam size must be from 1 (greedy) to {MAX_BEAM}, not {beam_size}.")
    notices = []
    if len(text) > MAX_CHARS:
        text = text[:MAX_CHARS]
        notices.append(f"The text was cut to its first {MAX_CHARS} characters.")
    sentences = split_sentences(text)
    if not sentences:
        raise InputError("Please enter some text to translate.")
    if len(sentences) > MAX_SENTENCES:
        sentences = sentences[:MAX_SENTENCES]
        notices.append(f"Only the first {MAX_SENTENCES} sentences were translated.")
    return sentences, beam_size, " ".join(notices)


def merge_pieces(source_tokens, target_tokens, attention):
    """Subword pieces → words: attention is summed over the pieces of a source word (so rows stay
    distributions) and averaged over the pieces of a target word. Returns words and the new matrix."""
    source_groups, target_groups = _word_groups(source_tokens), _word_groups(target_tokens)
    matrix = np.asarray(attention, dtype=np.float64)
    by_source_word = np.stack([matrix[:, g].sum(1) for g in source_groups], 1)
    merged = np.stack([by_source_word[g].mean(0) for g in target_groups], 0)
    return _join(source_tokens, source_groups), _join(target_tokens, target_groups), merged


def _word_groups(pieces) -> list[list[int]]:
    groups: list[list[int]] = []
    for i, piece in enumerate(pieces):
        if not groups or piece.startswith(WORD_START) or piece.startswith("<") or pieces[i - 1].startswith("<"):
            groups.append([i])
        else:
            groups[-1].append(i)
    return groups


def _join(pieces, groups) -> list[str]:
    return ["".join(pieces[i] for i in g).replace(WORD_START, "") or WORD_START for g in groups]


def analyze(translator: Translator, text, reference: str = "", beam_size=1, max_length: int | None = None) -> dict:
    """Translates each sentence of `text` and returns the ``/analyze`` JSON object.

    ``{"translation", "bleu", "chrf", "notice", "segments": [{"source", "translation", "source_tokens",
    "target_tokens", "attention", "token_probs", "alternatives"}]}``; bleu/chrf are null without a reference.
    """
    sentences, beam_size, notice = check_request(text, beam_size)
    if max_length is not None and not 1 <= max_length <= MAX_OUTPUT_PIECES:
        raise InputError(f"The maximum output length must be from 1 to {MAX_OUTPUT_PIECES} pieces.")
    segments = []
    for translation in translator.translate(sentences, beam_size=beam_size, max_length=max_length):
        best = translation.best
        target_tokens = translator.target_pieces(best)
        alternatives = [
            [
                {"token": piece, "prob": round(float(p), 5)}
                for piece, p in zip(translator.target_tokenizer.pieces(ids), probs)
            ]
            for ids, probs in zip(best.top_ids, best.top_probs)
        ]
        segments.append(
            {
                "source": translation.source,
                "translation": translator.text(best),
                "source_tokens": translation.source_pieces,
                "target_tokens": target_tokens,
                "attention": np.round(best.attention.astype(np.float64), 5).tolist(),
                "token_probs": [round(float(p), 5) for p in best.token_probs],
                "alternatives": alternatives,
            }
        )
    full_translation = " ".join(s["translation"] for s in segments)
    result = {"translation": full_translation, "bleu": None, "chrf": None, "notice": notice, "segments": segments}
    reference = normalize(reference or "")
    if reference:
        scores = sentence_scores(full_translation, reference)
        result.update(
            bleu=round(scores.bleu, 2),
            chrf=round(scores.chrf, 2),
            bleu_details={
                "precisions": [round(p, 2) for p in scores.precisions],
                "brevity_penalty": round(scores.brevity_penalty, 4),
            },
        )
    return result
