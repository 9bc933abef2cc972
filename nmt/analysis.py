"""What the app and its ``/analyze`` API show: translation, attention, confidence and scores of a text.

Everything here is plain data (lists, floats, strings), so the same result feeds the JSON API, the
plots and the downloads.
"""

from __future__ import annotations

import re

import numpy as np

from nmt.alignment import WordAttention, argmax_links
from nmt.alignment import pharaoh as links_to_pharaoh
from nmt.data import normalize
from nmt.familiarity import Familiarity, mean_log_prob
from nmt.metrics import sentence_scores
from nmt.tokenizer import EOS_ID
from nmt.translator import Translator

MAX_CHARS = 2000  # input beyond this is cut (with a notice) before it reaches the model
MAX_SENTENCES = 20
MAX_BEAM = 10
MAX_OUTPUT_PIECES = 200
WORD_START = "▁"  # SentencePiece marks the first piece of a word with it

# A sentence ends at a line break, or at . ! ? … (and full-width forms) and any closing quotes or
# brackets, French-spaced or not («Viens ! » Puis), followed by space or directly by Hangul (Korean
# is often typed without a space after the period).
_SENTENCE_END = re.compile(r"\n+|(?P<end>[.!?。！？…]+(?:\s*[»”’\"')\]])*)(?:\s+|(?=[\uac00-\ud7a3]))")
# A period after these (case-folded) is an abbreviation, not a sentence end: M. Dupont, Dr. Watson.
ABBREVIATIONS = frozenset(
    "m mm mme mmes mlle mlles dr drs pr me st ste mr mrs ms prof etc p ex cf vol no n° av apr j.-c "
    "mgr sr jr vs fig éd".split()
)
_WORD_BEFORE = re.compile(r"(\S+)$")


class InputError(ValueError):
    """The request cannot be answered as asked; the message says why, for the user."""


def split_sentences(text: str) -> list[str]:
    """Normalised sentences of `text`, none empty (see _SENTENCE_END and ABBREVIATIONS)."""
    parts, start = [], 0
    for end in _SENTENCE_END.finditer(text):
        if end["end"] == "." and "\n" not in end[0] and _is_abbreviation(text[start : end.start()]):
            continue
        parts.append(text[start : end.start() + len(end["end"] or "")])
        start = end.end()
    parts.append(text[start:])
    return [s for s in map(normalize, parts) if s]


def _is_abbreviation(before: str) -> bool:
    """Whether the text before a lone period ends in an abbreviation or an initial (J. K. Rowling)."""
    word = _WORD_BEFORE.search(before)
    if not word:
        return False
    word = word[1].lstrip("«“‘\"'(")
    return word.casefold() in ABBREVIATIONS or (len(word) == 1 and word.isupper())


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


SPECIAL_PIECES = ("<unk>", "<s>", "</s>")  # each is a word of its own
_BYTE_PIECE = re.compile(r"<0x([0-9A-F]{2})>")
_BYTE_PIECES = re.compile(r"(?:<0x[0-9A-F]{2}>)+")  # the UTF-8 bytes of one or more characters


def _word_groups(pieces) -> list[list[int]]:
    """Piece indices per word: a word starts at a piece with the word mark, and special pieces stand
    alone; byte-fallback pieces (``<0xC3>``) continue the word they are in."""
    groups: list[list[int]] = []
    for i, piece in enumerate(pieces):
        if not groups or piece.startswith(WORD_START) or piece in SPECIAL_PIECES or pieces[i - 1] in SPECIAL_PIECES:
            groups.append([i])
        else:
            groups[-1].append(i)
    return groups


def _join(pieces, groups) -> list[str]:
    """Each group's text, byte-fallback pieces decoded to their characters."""
    words = []
    for group in groups:
        text = "".join(pieces[i] for i in group).replace(WORD_START, "")
        text = _BYTE_PIECES.sub(
            lambda m: bytes(int(b, 16) for b in _BYTE_PIECE.findall(m[0])).decode("utf-8", "replace"), text
        )
        words.append(text or WORD_START)
    return words


UNATTENDED, OVER_ATTENDED = 0.1, 1.5  # total attention a source piece received, summed over all steps


def coverage(attention) -> dict:
    """Total attention each source piece received (the column sums), and the pieces that look
    untranslated (total < 0.1) or translated more than once (total > 1.5)."""
    totals = np.asarray(attention, dtype=np.float64).sum(0)
    return {
        "totals": np.round(totals, 4).tolist(),
        "unattended": [int(i) for i in np.flatnonzero(totals < UNATTENDED)],
        "over_attended": [int(i) for i in np.flatnonzero(totals > OVER_ATTENDED)],
    }


def entropy(attention) -> list[float]:
    """Entropy (nats) of each step's alignment weights: 0 when the step looks at one piece only."""
    weights = np.clip(np.asarray(attention, dtype=np.float64), 1e-12, 1.0)
    return np.round(-(weights * np.log(weights)).sum(1), 4).tolist()


def pharaoh(source_tokens, target_tokens, attention) -> str:
    """Hard word alignments in Pharaoh format ``i-j`` (source word i, target word j, 0-based) by the
    extraction of ``python -m nmt align`` (:func:`nmt.alignment.argmax_links`); the end-of-sentence
    pieces are left out."""
    source_words, target_words, merged = merge_pieces(source_tokens, target_tokens, attention)
    real_source = [i for i, word in enumerate(source_words) if word != "</s>"]
    real_target = [j for j, word in enumerate(target_words) if word != "</s>"]
    weights = merged[np.ix_(real_target, real_source)]
    links = argmax_links(WordAttention(weights, merged[real_target].sum(1) - weights.sum(1)))
    return links_to_pharaoh({(real_source[i], real_target[j]) for i, j in links})


def _rounded(matrix) -> list:
    return np.round(np.asarray(matrix, dtype=np.float64), 5).tolist()


def _hypothesis_view(translator: Translator, hypothesis) -> dict:
    tokens = translator.target_pieces(hypothesis)
    return {
        "translation": translator.text(hypothesis),
        "target_tokens": tokens,
        "attention": _rounded(hypothesis.attention),
        "token_probs": [round(float(p), 5) for p in hypothesis.token_probs],
        "log_prob": round(hypothesis.log_prob, 4),
        "score": round(hypothesis.score, 4),
    }


def _reference_view(translator: Translator, source: str, reference: str) -> dict:
    """Forced decoding of the reference: how probable the model finds each of its pieces, and where it
    would look to produce them."""
    target_ids = translator.target_tokenizer.encode(reference) + [EOS_ID]
    log_probs, attention = translator.searcher.force([translator.source_ids(source)], [target_ids])[0]
    return {
        "reference": reference,
        "target_tokens": translator.target_tokenizer.pieces(target_ids),
        "token_log_probs": np.round(log_probs.astype(np.float64), 4).tolist(),
        "total_log_prob": round(float(log_probs.sum()), 4),
        "mean_log_prob": round(float(log_probs.mean()), 4),
        "attention": _rounded(attention),
    }


def _references_per_sentence(reference: str, count: int) -> list[str] | None:
    """Pairs reference sentences with source sentences when they can be paired one to one."""
    if count == 1:
        return [reference]
    sentences = split_sentences(reference)
    return sentences if len(sentences) == count else None


def _familiarity(translator: Translator, translations, segments: list[dict]) -> str:
    """Sets each segment's ``familiarity`` (``{"flagged", "reasons"}``, or None for an uncalibrated
    checkpoint) and returns the notice for the flagged sentences ('' if none). The limits were
    calibrated under the checkpoint's default decoding; others shift the confidence a little."""
    limits = Familiarity.of(translator.checkpoint.metrics)
    flagged = []
    for i, (translation, segment) in enumerate(zip(translations, segments)):
        if limits is None:
            segment["familiarity"] = None
            continue
        pieces = len(translator.source_tokenizer.encode(translation.source))
        reasons = limits.reasons(pieces, mean_log_prob(translation.best.token_probs))
        segment["familiarity"] = {"flagged": bool(reasons), "reasons": reasons}
        if reasons:
            flagged.append(f"{i + 1} ({'; '.join(reasons)})" if len(segments) > 1 else f"({'; '.join(reasons)})")
    if not flagged:
        return ""
    if len(segments) == 1:
        subject = f"This sentence {flagged[0]} is"
    elif len(flagged) == 1:
        subject = f"Sentence {flagged[0]} is"
    else:
        subject = f"Sentences {', '.join(flagged)} are"
    return f"{subject} unlike what this model learned from: read its translation and attention with care."


def analyze(translator: Translator, text, reference: str = "", beam_size=1, max_length: int | None = None) -> dict:
    """Translates each sentence of `text` and returns the ``/analyze`` JSON object.

    ``{"translation", "bleu", "chrf", "notice", "segments": [...]}``; bleu/chrf are null without a
    reference. Each segment has ``source, translation, source_tokens, target_tokens, attention,
    token_probs`` (the contract), and ``alternatives`` (top pieces per step), ``entropy`` (per step),
    ``coverage``, ``alignment`` (Pharaoh), ``nbest`` (every beam hypothesis, best first),
    ``familiarity`` (whether the sentence is unlike the training data, and why; see
    :mod:`nmt.familiarity`) and, when the reference can be paired with the sentence, ``reference``
    (its forced decoding).
    """
    sentences, beam_size, notice = check_request(text, beam_size)
    if max_length is not None and not 1 <= max_length <= MAX_OUTPUT_PIECES:
        raise InputError(f"The maximum output length must be from 1 to {MAX_OUTPUT_PIECES} pieces.")
    notices = [notice] if notice else []
    limit = translator.max_source_pieces
    cut = [i + 1 for i, s in enumerate(sentences) if len(translator.source_tokenizer.encode(s)) > limit]
    if cut:
        which = ("sentence " if len(cut) == 1 else "sentences ") + ", ".join(map(str, cut))
        notices.append(f"Only the first {limit} pieces of {which} were translated: the model reads at most {limit}.")
    reference = normalize(reference or "")
    references = _references_per_sentence(reference, len(sentences)) if reference else None
    if reference and references is None:
        notices.append(
            "The reference has a different number of sentences than the "
            "text, so it is scored as a whole and not shown per sentence."
        )
    translations = translator.translate(sentences, beam_size=beam_size, n_best=beam_size, max_length=max_length)
    segments = []
    for i, translation in enumerate(translations):
        source_tokens = translation.source_pieces
        segment = {
            "source": translation.source,
            "source_tokens": source_tokens,
            **_hypothesis_view(translator, translation.best),
        }
        best = translation.best
        segment["alternatives"] = [
            [
                {"token": piece, "prob": round(float(p), 5)}
                for piece, p in zip(translator.target_tokenizer.pieces(ids), probs)
            ]
            for ids, probs in zip(best.top_ids, best.top_probs)
        ]
        segment["entropy"] = entropy(best.attention)
        segment["coverage"] = coverage(best.attention)
        segment["alignment"] = pharaoh(source_tokens, segment["target_tokens"], best.attention)
        segment["nbest"] = [_hypothesis_view(translator, h) for h in translation.hypotheses]
        if references:
            segment["reference"] = _reference_view(translator, translation.source, references[i])
        segments.append(segment)
    unfamiliar = _familiarity(translator, translations, segments)
    if unfamiliar:
        notices.append(unfamiliar)
    notice = " ".join(notices)
    full_translation = " ".join(s["translation"] for s in segments)
    result = {"translation": full_translation, "bleu": None, "chrf": None, "notice": notice, "segments": segments}
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
