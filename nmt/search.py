"""Greedy and beam search over the model's step function, batched, returning the attention of every step.

The encoder runs once per batch; the decoder step is one compiled graph (``tf.function`` with a fixed
input signature, so sentences of any length reuse it without retracing) called once per generated piece.
Every hypothesis carries its piece ids, each piece's probability, the top alternatives at each step and
its alignment weights (target steps × source positions). Under beam search the histories are reordered
by the beam's back-pointers, so each returned hypothesis carries exactly the attention that produced it.
"""

from __future__ import annotations

import dataclasses

import keras
import numpy as np

from nmt.model import Seq2Seq
from nmt.tokenizer import BOS_ID, EOS_ID, PAD_ID

TOP_K = 5  # alternatives kept per step, for the per-step view


@dataclasses.dataclass
class Hypothesis:
    """One decoded output. n = generated pieces (the final eos included when the hypothesis finished)."""

    token_ids: np.ndarray  # (n,) int
    token_probs: np.ndarray  # (n,) probability of each chosen piece
    top_ids: np.ndarray  # (n, TOP_K) most probable pieces at each step
    top_probs: np.ndarray  # (n, TOP_K)
    attention: np.ndarray  # (n, S) alignment weights over this sentence's S source pieces, rows sum to 1
    log_prob: float  # Σ log p of the chosen pieces
    score: float  # log_prob / length penalty: what the beam ranks by

    @property
    def finished(self) -> bool:
        return len(self.token_ids) > 0 and self.token_ids[-1] == EOS_ID


def length_penalty(length: int, alpha: float) -> float:
    """GNMT length penalty ((5 + |Y|) / 6)^α (Wu et al., 2016); α = 0 ranks by raw log-probability."""
    return ((5.0 + length) / 6.0) ** alpha


class Searcher:
    """Decodes batches of source id sequences with a trained :class:`Seq2Seq`."""

    def __init__(self, model: Seq2Seq):
        self.model = model
        self.units = model.config.units
        self._encode, self._step, self._greedy = model.encode, model.decode_step, None
        if keras.backend.backend() == "tensorflow":
            import tensorflow as tf

            hidden = tf.TensorSpec([None, self.units], tf.float32)
            memory = tf.TensorSpec([None, None, self.units], tf.float32)
            self._encode = tf.function(model.encode, input_signature=[tf.TensorSpec([None, None], tf.int32)])
            self._step = tf.function(
                model.decode_step,
                input_signature=[
                    tf.TensorSpec([None], tf.int32),
                    [[hidden, hidden] for _ in range(model.config.layers)],
                    hidden,
                    memory,
                    memory,
                    tf.TensorSpec([None, None], tf.bool),
                ],
            )
            self._greedy = tf.function(
                self._greedy_loop,
                input_signature=[tf.TensorSpec([None, None], tf.int32), tf.TensorSpec([None], tf.int32)],
            )

    def _greedy_loop(self, source_ids, limits):
        """Greedy search as one TensorFlow graph: the encoder, then a while loop of decoder steps that
        stops once every sentence has produced eos or reached its limit.

        source_ids (B, S) int32, limits (B,) int32 → for every step t < n (n = the longest output):
        the TOP_K most probable pieces (B, n, TOP_K), their log-probabilities (B, n, TOP_K) and the
        alignment weights (B, n, S). The chosen piece is the first of the top pieces; each sentence
        ends at its first eos or its limit, and the caller cuts the steps after that.
        """
        import tensorflow as tf

        values, keys, source_mask, states = self.model.encode(source_ids)
        batch = tf.shape(source_ids)[0]
        # Few loop variables: every one costs graph bookkeeping at each step.
        outputs = [tf.TensorArray(dtype, size=0, dynamic_size=True) for dtype in (tf.int32, tf.float32, tf.float32)]

        def step(t, previous_ids, states, attentional, finished, outputs):
            log_probs, states, attentional, alignment = self.model.decode_step(
                previous_ids, states, attentional, keys, values, source_mask
            )
            top_log_probs, top_ids = tf.math.top_k(log_probs, TOP_K)
            outputs = [array.write(t, value) for array, value in zip(outputs, (top_ids, top_log_probs, alignment))]
            chosen = top_ids[:, 0]
            finished = finished | tf.equal(chosen, EOS_ID) | (t + 1 >= limits)
            return t + 1, chosen, states, attentional, finished, outputs

        start = (
            tf.constant(0),
            tf.fill([batch], BOS_ID),
            states,
            tf.zeros([batch, self.units]),
            tf.zeros([batch], tf.bool),
            outputs,
        )
        *_, outputs = tf.while_loop(
            lambda t, previous_ids, states, attentional, finished, outputs: ~tf.reduce_all(finished), step, start
        )
        # TensorArrays stack time first: (n, B, ...) → (B, n, ...).
        return [tf.experimental.numpy.moveaxis(array.stack(), 0, 1) for array in outputs]

    @staticmethod
    def pad(sequences) -> np.ndarray:
        """Lists of ids → (B, S) int32, 0-padded on the right."""
        batch = np.full((len(sequences), max(len(s) for s in sequences)), PAD_ID, dtype=np.int32)
        for row, sequence in zip(batch, sequences):
            row[: len(sequence)] = sequence
        return batch

    def _start(self, source_ids: np.ndarray, copies: int):
        """Encodes once, then repeats every sentence's memory `copies` times (one per beam)."""
        values, keys, source_mask, states = self._encode(source_ids)

        def repeat(x):
            return np.repeat(np.asarray(x), copies, axis=0)

        states = [[repeat(h), repeat(c)] for h, c in states]
        return repeat(values), repeat(keys), repeat(source_mask), states

    def search(self, sources, beam_size: int = 1, n_best: int = 1, alpha: float = 1.0, max_length: int = 100):
        """sources: lists of source ids (eos included). Returns, per sentence, its `n_best` hypotheses, best first.

        Each sentence may produce at most ``min(max_length, 2 · source length + 10)`` pieces.
        """
        if beam_size < 1 or not 1 <= n_best <= beam_size:
            raise ValueError(f"need beam_size ≥ 1 and 1 ≤ n_best ≤ beam_size, got {beam_size} and {n_best}")
        source_ids = self.pad(sources)
        batch, source_len = source_ids.shape
        limits = np.minimum(max_length, 2 * np.array([len(s) for s in sources]) + 10).astype(np.int32)
        if beam_size == 1 and self._greedy is not None:
            return self._greedy_search(sources, source_ids, limits, alpha)
        values, keys, source_mask, states = self._start(source_ids, beam_size)
        rows = batch * beam_size
        previous_ids = np.full(rows, BOS_ID, dtype=np.int32)
        attentional = np.zeros((rows, self.units), dtype=np.float32)
        # Only the first beam of each sentence is alive at the start; the others join after one step.
        beam_log_probs = np.full((batch, beam_size), -np.inf)
        beam_log_probs[:, 0] = 0.0
        history = {
            "token_ids": np.zeros((rows, 0), np.int64),
            "token_probs": np.zeros((rows, 0), np.float32),
            "top_ids": np.zeros((rows, 0, TOP_K), np.int64),
            "top_probs": np.zeros((rows, 0, TOP_K), np.float32),
            "attention": np.zeros((rows, 0, source_len), np.float32),
        }
        finished: list[list[Hypothesis]] = [[] for _ in range(batch)]
        done = np.zeros(batch, dtype=bool)

        for t in range(int(limits.max())):
            log_probs, states, attentional, alignment = self._step(
                previous_ids, states, attentional, keys, values, source_mask
            )
            log_probs, alignment = np.asarray(log_probs, np.float64), np.asarray(alignment)
            vocab = log_probs.shape[1]
            top_ids = np.argpartition(-log_probs, TOP_K, axis=1)[:, :TOP_K]
            top_lp = np.take_along_axis(log_probs, top_ids, 1)
            order = np.argsort(-top_lp, axis=1)
            top_ids, top_lp = np.take_along_axis(top_ids, order, 1), np.take_along_axis(top_lp, order, 1)

            # Candidates: every beam extended by every piece; keep the 2k best so k survive eos.
            candidates = (beam_log_probs[:, :, None] + log_probs.reshape(batch, beam_size, vocab)).reshape(batch, -1)
            n_candidates = min(2 * beam_size, candidates.shape[1])
            best = np.argpartition(-candidates, n_candidates - 1, axis=1)[:, :n_candidates]
            best = np.take_along_axis(best, np.argsort(-np.take_along_axis(candidates, best, 1), axis=1), 1)

            origin = np.zeros((batch, beam_size), dtype=np.int64)
            chosen = np.full((batch, beam_size), EOS_ID, dtype=np.int64)
            new_log_probs = np.full((batch, beam_size), -np.inf)
            for b in range(batch):
                if done[b]:
                    continue
                kept = 0
                for rank, flat in enumerate(best[b]):
                    total = candidates[b, flat]
                    if total == -np.inf or kept == beam_size:
                        break
                    beam, token = divmod(int(flat), vocab)
                    if token == EOS_ID or t + 1 >= limits[b]:
                        # Only an ending among the k best counts; lower ones would not have been kept.
                        if rank < beam_size:
                            finished[b].append(
                                self._hypothesis(
                                    history,
                                    b * beam_size + beam,
                                    token,
                                    log_probs,
                                    top_ids,
                                    top_lp,
                                    alignment,
                                    total,
                                    alpha,
                                    len(sources[b]),
                                )
                            )
                        continue
                    origin[b, kept], chosen[b, kept], new_log_probs[b, kept] = beam, token, total
                    kept += 1
                if len(finished[b]) >= beam_size or t + 1 >= limits[b] or kept == 0:
                    done[b] = True
            if done.all():
                break

            # Reorder every history by the back-pointers, then append this step.
            rows_from = (np.arange(batch)[:, None] * beam_size + origin).reshape(-1)
            step_probs = np.exp(log_probs[rows_from, chosen.reshape(-1)])
            history = {
                "token_ids": np.concatenate([history["token_ids"][rows_from], chosen.reshape(-1, 1)], 1),
                "token_probs": np.concatenate([history["token_probs"][rows_from], step_probs[:, None]], 1),
                "top_ids": np.concatenate([history["top_ids"][rows_from], top_ids[rows_from][:, None]], 1),
                "top_probs": np.concatenate([history["top_probs"][rows_from], np.exp(top_lp[rows_from])[:, None]], 1),
                "attention": np.concatenate([history["attention"][rows_from], alignment[rows_from][:, None]], 1),
            }
            states = [[np.asarray(h)[rows_from], np.asarray(c)[rows_from]] for h, c in states]
            attentional = np.asarray(attentional)[rows_from]
            previous_ids = chosen.reshape(-1).astype(np.int32)
            beam_log_probs = new_log_probs

        return [sorted(hyps, key=lambda h: -h.score)[:n_best] for hyps in finished]

    def _greedy_search(self, sources, source_ids, limits, alpha) -> list[list[Hypothesis]]:
        """Beam size 1 through the compiled greedy loop: the same hypotheses, without a Python step loop."""
        top_ids, top_log_probs, alignment = (np.asarray(x) for x in self._greedy(source_ids, limits))
        ids, log_probs = top_ids[:, :, 0], top_log_probs[:, :, 0]
        results = []
        for b, source in enumerate(sources):
            ends = np.flatnonzero(ids[b, : limits[b]] == EOS_ID)
            n = int(ends[0]) + 1 if len(ends) else int(limits[b])
            total = float(log_probs[b, :n].sum())
            hypothesis = Hypothesis(
                token_ids=ids[b, :n].astype(np.int64),
                token_probs=np.exp(log_probs[b, :n]),
                top_ids=top_ids[b, :n].astype(np.int64),
                top_probs=np.exp(top_log_probs[b, :n]),
                attention=alignment[b, :n, : len(source)],
                log_prob=total,
                score=total / length_penalty(n, alpha),
            )
            results.append([hypothesis])
        return results

    @staticmethod
    def _hypothesis(history, row, token, log_probs, top_ids, top_lp, alignment, total, alpha, source_len) -> Hypothesis:
        """The hypothesis in `row` extended by `token` at the current step; attention cut to its own source."""
        token_ids = np.append(history["token_ids"][row], token)
        return Hypothesis(
            token_ids=token_ids,
            token_probs=np.append(history["token_probs"][row], np.exp(log_probs[row, token])).astype(np.float32),
            top_ids=np.concatenate([history["top_ids"][row], top_ids[row][None]]),
            top_probs=np.concatenate([history["top_probs"][row], np.exp(top_lp[row])[None]]).astype(np.float32),
            attention=np.concatenate([history["attention"][row], alignment[row][None]])[:, :source_len],
            log_prob=float(total),
            score=float(total) / length_penalty(len(token_ids), alpha),
        )

    def force(self, sources, targets) -> list[tuple[np.ndarray, np.ndarray]]:
        """Forced decoding: runs given target pieces through the decoder with teacher forcing.

        sources: lists of source ids (eos included); targets: lists of target ids (eos included, if the
        target is complete). Returns, per pair, the log-probability of each target piece (n,) and the
        alignment weights (n, S) — where the model would look to produce exactly that target.
        """
        source_ids = self.pad(sources)
        target_input = self.pad([[BOS_ID] + list(t[:-1]) for t in targets])
        logits, alignment = self.model.decode(target_input, self.model.encode(source_ids))
        log_probs = np.asarray(keras.ops.log_softmax(logits, axis=-1))
        alignment = np.asarray(alignment)
        results = []
        for i, (source, target) in enumerate(zip(sources, targets)):
            steps = np.arange(len(target))
            results.append(
                (log_probs[i, steps, np.asarray(target, dtype=np.int64)], alignment[i, steps, : len(source)])
            )
        return results
