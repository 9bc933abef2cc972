"""Beyond what a model knows: which inputs are unlike those it learned from, so that users do not take
a confused translation, or its attention, for insight.

A sentence is flagged when its source is longer than nearly all training sources (the 99th
percentile, in pieces), or when the model is unsure of its own translation: the mean log-probability
per generated piece below what the 5th percentile of held-out sentences gets. Both limits come from
data (:func:`calibrate`, ``python -m nmt calibrate``) and live in the checkpoint's ``metrics.json``
under ``"familiarity"``, with the rates measured on held-out and out-of-domain text.
"""

from __future__ import annotations

import dataclasses

import numpy as np

LENGTH_PERCENTILE, CONFIDENCE_PERCENTILE = 99, 5


@dataclasses.dataclass
class Familiarity:
    longest_source_pieces: int  # the 99th percentile of training sources' lengths
    lowest_mean_log_prob: float  # the 5th percentile over held-out translations

    @classmethod
    def of(cls, metrics: dict) -> Familiarity | None:
        """The limits recorded in a checkpoint's metrics, or None if it was never calibrated."""
        record = (metrics or {}).get("familiarity")
        return cls(record["longest_source_pieces"], record["lowest_mean_log_prob"]) if record else None

    def reasons(self, source_pieces: int, mean_log_prob: float) -> list[str]:
        """Why a sentence of `source_pieces` pieces whose translation has `mean_log_prob` per piece
        is unlike the training data (none if it is not)."""
        found = []
        if source_pieces > self.longest_source_pieces:
            found.append(f"longer than {LENGTH_PERCENTILE} % of its training sentences")
        if mean_log_prob < self.lowest_mean_log_prob:
            found.append("the model is unsure of its translation")
        return found


def mean_log_prob(token_probs) -> float:
    """Mean log-probability per generated piece of a hypothesis."""
    return float(np.mean(np.log(np.maximum(np.asarray(token_probs, dtype=float), 1e-12))))


def _measure(translator, sentences: list[str]) -> list[tuple[int, float]]:
    """(source pieces, mean log-probability per piece) of each sentence under the default decoding."""
    return [
        (len(translator.source_tokenizer.encode(s)), mean_log_prob(t.best.token_probs))
        for s, t in zip(sentences, translator.translate(sentences))
    ]


def calibrate(translator, training_sources, held_out: list[str], out_of_domain: list[str], name: str) -> dict:
    """The ``"familiarity"`` record: the limits from the training sources' lengths and the held-out
    translations' confidence, and the share of held-out and of `out_of_domain` sentences they flag."""
    lengths = [len(translator.source_tokenizer.encode(s)) for s in training_sources]
    held_measured = _measure(translator, held_out)
    limits = Familiarity(
        longest_source_pieces=int(np.percentile(lengths, LENGTH_PERCENTILE)),
        lowest_mean_log_prob=round(float(np.percentile([m for _, m in held_measured], CONFIDENCE_PERCENTILE)), 4),
    )

    def flagged(measured) -> float:
        return round(float(np.mean([bool(limits.reasons(n, m)) for n, m in measured])), 3)

    return {
        **dataclasses.asdict(limits),
        "held_out_flagged": flagged(held_measured),
        "held_out_sentences": len(held_out),
        "out_of_domain_flagged": flagged(_measure(translator, out_of_domain)),
        "out_of_domain_sentences": len(out_of_domain),
        "out_of_domain": name,
    }
