"""BLEU and chrF with sacrebleu: corpus scores with their signatures, and smoothed sentence BLEU."""

from __future__ import annotations

import dataclasses

from sacrebleu.metrics import BLEU, CHRF

# Test references of at least this many words are also scored on their own: the long sentences.
LONG_SENTENCE_WORDS = 8


@dataclasses.dataclass
class CorpusScores:
    bleu: float
    chrf: float
    bleu_signature: str
    chrf_signature: str


def corpus_scores(hypotheses: list[str], references: list[str]) -> CorpusScores:
    """Corpus BLEU (13a tokenisation) and chrF of hypotheses against one reference each."""
    bleu, chrf = BLEU(), CHRF()
    return CorpusScores(
        bleu=bleu.corpus_score(hypotheses, [references]).score,
        chrf=chrf.corpus_score(hypotheses, [references]).score,
        bleu_signature=str(bleu.get_signature()),
        chrf_signature=str(chrf.get_signature()),
    )


@dataclasses.dataclass
class SentenceScores:
    bleu: float
    precisions: list[float]  # 1- to 4-gram precisions, in percent
    brevity_penalty: float
    chrf: float


def sentence_scores(hypothesis: str, reference: str) -> SentenceScores:
    """Sentence BLEU with exponential smoothing (short sentences often have no matching 4-gram) and chrF."""
    bleu = BLEU(effective_order=True, smooth_method="exp").sentence_score(hypothesis, [reference])
    return SentenceScores(
        bleu=bleu.score,
        precisions=list(bleu.precisions),
        brevity_penalty=bleu.bp,
        chrf=CHRF().sentence_score(hypothesis, [reference]).score,
    )
