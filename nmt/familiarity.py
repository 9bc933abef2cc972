"""Beyond what a model knows: which inputs are unlike those it learned from, so that users do not take
a confused translation, or its attention, for insight.

A sentence is flagged when its source is longer than nearly all the sentences the model was validated
on (their 99th percentile, in pieces), or when the model is unsure of its own translation: the mean
log-probability per generated piece below what the 5th percentile of those sentences gets. Both limits
come from the validation split (:func:`calibrate`, ``python -m nmt calibrate``) and live in the
checkpoint's ``metrics.json`` under ``"familiarity"``, with the shares they flag of the test split and
of out-of-domain text, neither of which set them.

The length limit is the validation split's and not the training data's: a corpus added for training
only (ko-en's news pairs, 2 % of its training sources) puts long sentences into the training
distribution's top percent without making the model good at them.
"""

from __future__ import annotations

import dataclasses

import numpy as np

LENGTH_PERCENTILE, CONFIDENCE_PERCENTILE = 99, 5


@dataclasses.dataclass
class Familiarity:
    longest_source_pieces: int  # the 99th percentile of validation sources' lengths
    lowest_mean_log_prob: float  # the 5th percentile over validation translations

    @classmethod
    def of(cls, metrics: dict) -> Familiarity | None:
        """The limits recorded in a checkpoint's metrics, or None if it was never calibrated."""
        record = (metrics or {}).get("familiarity")
        return cls(record["longest_source_pieces"], record["lowest_mean_log_prob"]) if record else None

    def reasons(self, source_pieces: int, mean_log_prob: float) -> list[str]:
        """Why a sentence of `source_pieces` pieces whose translation has `mean_log_prob` per piece
        is unlike the data the model was trained and validated on (none if it is not)."""
        found = []
        if source_pieces > self.longest_source_pieces:
            found.append(f"longer than {LENGTH_PERCENTILE} % of its validation sentences")
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


def calibrate(translator, validation: list[str], test: list[str], out_of_domain: list[str], name: str) -> dict:
    """The ``"familiarity"`` record: the limits from the `validation` sources' lengths and their
    translations' confidence, and the share of `test` and of `out_of_domain` sentences they flag."""
    validation_measured = _measure(translator, validation)
    limits = Familiarity(
        longest_source_pieces=int(np.percentile([n for n, _ in validation_measured], LENGTH_PERCENTILE)),
        lowest_mean_log_prob=round(float(np.percentile([m for _, m in validation_measured], CONFIDENCE_PERCENTILE)), 4),
    )

    def flagged(sentences) -> float:
        return round(float(np.mean([bool(limits.reasons(n, m)) for n, m in _measure(translator, sentences)])), 3)

    return {
        **dataclasses.asdict(limits),
        "validation_sentences": len(validation),
        "held_out_flagged": flagged(test),
        "held_out_sentences": len(test),
        "out_of_domain_flagged": flagged(out_of_domain),
        "out_of_domain_sentences": len(out_of_domain),
        "out_of_domain": name,
    }
