"""Training examples and batches: sentence pairs → piece ids → length-bucketed, teacher-forced arrays."""

from __future__ import annotations

import math
import random

import keras
import numpy as np

from nmt.alignment import piece_links
from nmt.tokenizer import BOS_ID, EOS_ID, Tokenizer


def encode_pairs(
    pairs, source_tokenizer: Tokenizer, target_tokenizer: Tokenizer, max_pieces: int, guides=None, langs=("fr", "en")
):
    """(source ids + eos, target ids) for pairs within `max_pieces`; also returns how many were too long.

    With `guides` (one word alignment per pair of the `langs` languages, from
    :func:`nmt.alignment.guide_alignments`) each example also carries its (target piece, source
    piece) links, for guided alignment.
    """
    examples, too_long = [], 0
    for n, (source, target) in enumerate(pairs):
        source_ids, target_ids = source_tokenizer.encode(source), target_tokenizer.encode(target)
        if len(source_ids) > max_pieces or len(target_ids) > max_pieces:
            too_long += 1
            continue
        example = (source_ids + [EOS_ID], target_ids)
        if guides is not None:
            example += (piece_links((source_tokenizer, target_tokenizer), (source, target), langs, guides[n]),)
        examples.append(example)
    return examples, too_long


def _padded_length(length: int) -> int:
    """Lengths round up to a multiple of 8, so a compiled training step sees few distinct shapes."""
    return 8 * math.ceil(length / 8)


def teacher_forcing_arrays(examples, length: int, rows: int | None = None, guided: bool = False):
    """(source ids, target ids) pairs → ((source (B, L), target input (B, L)), target output (B, L)), 0-padded.

    Target input is bos + reference and target output is reference + eos: teacher forcing. B is
    `rows` (default: one per example); rows past the examples stay all padding, which the loss ignores.
    With `guided`, the target is (target output, target alignment (B, L, L)): each target piece's
    linked source pieces, uniformly (all zeros for a piece without links, and for examples without).
    """
    rows = len(examples) if rows is None else rows
    source = np.zeros((rows, length), np.int32)
    target_input = np.zeros((rows, length), np.int32)
    target_output = np.zeros((rows, length), np.int32)
    for r, (s, t, *_) in enumerate(examples):
        source[r, : len(s)] = s
        target_input[r, : len(t) + 1] = [BOS_ID] + t
        target_output[r, : len(t) + 1] = t + [EOS_ID]
    if not guided:
        return (source, target_input), target_output
    alignment = np.zeros((rows, length, length), np.float32)
    for r, example in enumerate(examples):
        for t, s in example[2] if len(example) > 2 else ():
            alignment[r, t, s] = 1.0
    totals = alignment.sum(-1, keepdims=True)
    return (source, target_input), (target_output, np.divide(alignment, totals, where=totals > 0, out=alignment))


def _another_length_second(batches: list) -> list:
    """Keras derives the TensorFlow input signature from the first two batches, keeping only the
    dimensions in which they differ as variable: puts a batch of another length second."""
    other = next((i for i, (length, _) in enumerate(batches) if length != batches[0][0]), None)
    if other is not None:
        batches[1], batches[other] = batches[other], batches[1]
    return batches


class Batches(keras.utils.PyDataset):
    """Length-bucketed batches of about `batch_tokens` padded tokens, reshuffled every epoch.

    Each item is ``((source_ids (B, L), target_input_ids (B, L)), target_output_ids (B, L))`` where
    target input is bos + reference and target output is reference + eos. Examples are grouped by
    padded length L (a multiple of 8, shared by source and target), and every batch of a group has the
    same B, the last one filled up with empty rows: so a compiled training step sees the same few
    shapes in every epoch (JAX compiles once per shape). With `replicas`, B is a multiple of it.
    """

    def __init__(
        self, examples, batch_tokens: int, seed: int, shuffle: bool, guided: bool = False, epoch=None, replicas: int = 1
    ):
        super().__init__()
        self.examples, self.shuffle, self.guided = examples, shuffle, guided
        # Each epoch's order follows from the seed and the epoch number alone. Given `epoch`, the
        # batches are that epoch's and stay so (one fit per epoch, as train() runs, so a run resumed
        # at a step sees exactly the rest of its epoch); without, they are reshuffled at every epoch's
        # end (Keras also calls on_epoch_end when a fit starts).
        self.seed, self.fixed, self.epoch = seed, epoch is not None, epoch or 0
        groups: dict[int, list[int]] = {}
        for i, (source, target, *_) in enumerate(examples):
            groups.setdefault(_padded_length(max(len(source), len(target) + 1)), []).append(i)
        self.groups = dict(sorted(groups.items()))
        # A small group is one batch of its own size, not one padded out to batch_tokens. B is a multiple
        # of `replicas`, so data parallelism gives every device an equal share of each batch.
        self.rows = {
            length: replicas * math.ceil(min(len(group), max(1, batch_tokens // length)) / replicas)
            for length, group in self.groups.items()
        }
        self.batches = self._make_batches()

    def _make_batches(self) -> list[tuple[int, list[int]]]:
        """(padded length, example indices) per batch of this epoch."""
        rng = random.Random(self.seed * 100_003 + self.epoch)
        batches = []
        for length, group in self.groups.items():
            group = rng.sample(group, len(group)) if self.shuffle else group
            rows = self.rows[length]
            batches.extend((length, group[start : start + rows]) for start in range(0, len(group), rows))
        if self.shuffle:
            rng.shuffle(batches)
        return _another_length_second(batches)

    def __len__(self):
        return len(self.batches)

    def __getitem__(self, index):
        length, batch = self.batches[index]
        return teacher_forcing_arrays([self.examples[i] for i in batch], length, self.rows[length], self.guided)

    def on_epoch_end(self):
        if not self.fixed:
            self.epoch += 1
            if self.shuffle:
                self.batches = self._make_batches()

    def skip(self, steps: int) -> None:
        """Leaves out the first `steps` batches of this epoch (a resumed run has trained them)."""
        self.batches = _another_length_second(self.batches[steps:])
