"""Greedy and beam search over the model's step function, batched, returning the attention of every step.

:meth:`Searcher.search` is written once as a step-by-step loop (the decoder step called once per
generated piece, NumPy bookkeeping in between), which runs on any Keras backend. Under TensorFlow the
same searches run as one graph each (the encoder and a ``tf.while_loop`` of decoder steps, with fixed
input signatures, so sentences of any length reuse them without retracing); the tests hold the graphs
equal to the loop. Every hypothesis carries its piece ids, each piece's probability, the top
alternatives at each step and its alignment weights (target steps × source positions). Under beam
search the histories follow the beam's back-pointers, so each returned hypothesis carries exactly the
attention that produced it.
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
    """Decodes batches of source id sequences with a trained :class:`Seq2Seq`, whose weights it reads
    once, when it is made."""

    def __init__(self, model: Seq2Seq):
        self.model = model
        self.units = model.config.units
        self.piece_gates = model.piece_gates()
        self._greedy = self._beam = None  # the searches as graphs, where the backend has them
        if keras.backend.backend() == "tensorflow":
            import tensorflow as tf

            sentences = [tf.TensorSpec([None, None], tf.int32), tf.TensorSpec([None], tf.int32)]
            # The loops are explicit tf.while_loops: AutoGraph's rewriting of the model code would only
            # lengthen the trace (about half of it; each app start traces both searches per pair).
            self._greedy = tf.function(self._greedy_loop, input_signature=sentences, autograph=False)
            self._beam = tf.function(
                self._beam_loop, input_signature=[*sentences, tf.TensorSpec([], tf.int32)], autograph=False
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
        outputs = [tf.TensorArray(dtype, size=0, dynamic_size=True) for dtype in (tf.int32, tf.float32, tf.float32)]

        def step(t, previous_ids, states, attentional, finished, outputs):
            log_probs, states, attentional, alignment = self.model.decode_step(
                previous_ids, states, attentional, keys, values, source_mask, self.piece_gates
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

    def _beam_loop(self, source_ids, limits, beam_size):
        """Beam search as one TensorFlow graph; the same search as the step-by-step loop in :meth:`search`.

        source_ids (B, S) int32, limits (B,) int32, beam_size k. Each step extends every live beam by
        every piece, keeps the 2k best candidates, lets those among the k best that end (eos or limit)
        finish, and keeps the k best that go on. A sentence is done once k hypotheses have finished,
        at its limit, or when nothing goes on. Histories are not reordered in the graph: each step
        records its back-pointers, and :meth:`_backtrack` follows them for the finished hypotheses.

        Returns, over n steps and the 2k-slot pool of finished hypotheses per sentence:
        per step ints (n, B, k, TOP_K + 2): top pieces of each beam, then the back-pointer (the beam
        each new beam came from) and the piece it added; per step floats (n, B, k, TOP_K + 1 + S):
        top log-probabilities, the added piece's log-probability, alignment weights; the pool's ints
        (B, 2k, 3): step, beam and piece of each finished hypothesis; its floats (B, 2k, 2): total and
        last-piece log-probabilities; and how many finished (B,).
        """
        import tensorflow as tf

        k = beam_size
        values, keys, source_mask, states = self.model.encode(source_ids)
        batch = tf.shape(source_ids)[0]

        def repeat(x):
            return tf.repeat(x, k, axis=0)

        values, keys, source_mask = repeat(values), repeat(keys), repeat(source_mask)
        states = [[repeat(h), repeat(c)] for h, c in states]
        rank = tf.range(2 * k)[None]
        first_row = (tf.range(batch) * k)[:, None]

        def step(t, previous_ids, states, attentional, beam_log_probs, done, pool_ints, pool_floats, count, steps):
            log_probs, states, attentional, alignment = self.model.decode_step(
                previous_ids, states, attentional, keys, values, source_mask, self.piece_gates
            )
            top_log_probs, top_ids = tf.math.top_k(log_probs, TOP_K)
            vocab = tf.shape(log_probs)[1]
            candidates = tf.reshape(beam_log_probs[:, :, None] + tf.reshape(log_probs, [batch, k, vocab]), [batch, -1])
            totals, flat = tf.math.top_k(candidates, 2 * k)  # (B, 2k), best first
            beams, pieces = flat // vocab, flat % vocab
            valid = (totals > -float("inf")) & ~done[:, None]
            ends = tf.equal(pieces, EOS_ID) | (t + 1 >= limits[:, None])
            # Only an ending among the k best counts; lower ones would not have been kept.
            finishing = valid & ends & (rank < k)
            going_on = valid & ~ends
            kept = going_on & (tf.cumsum(tf.cast(going_on, tf.int32), axis=1) <= k)
            last_log_probs = totals - tf.gather(beam_log_probs, beams, batch_dims=1)

            # The finished pool: append this step's finishers after the earlier ones.
            at = tf.where(finishing)
            slots = tf.gather_nd(count[:, None] + tf.cumsum(tf.cast(finishing, tf.int32), axis=1) - 1, at)
            target = tf.stack([tf.cast(at[:, 0], tf.int32), slots], 1)
            found_ints = tf.stack([tf.fill(tf.shape(beams), t), beams, pieces], -1)
            pool_ints = tf.tensor_scatter_nd_update(pool_ints, target, tf.gather_nd(found_ints, at))
            pool_floats = tf.tensor_scatter_nd_update(
                pool_floats, target, tf.gather_nd(tf.stack([totals, last_log_probs], -1), at)
            )
            count += tf.reduce_sum(tf.cast(finishing, tf.int32), 1)

            # The new beams: the kept candidates in rank order; empty beams get -inf.
            order = tf.argsort(tf.where(kept, rank, rank + 2 * k), axis=1)[:, :k]
            alive = tf.gather(kept, order, batch_dims=1)
            origin = tf.where(alive, tf.gather(beams, order, batch_dims=1), 0)
            added = tf.where(alive, tf.gather(pieces, order, batch_dims=1), EOS_ID)
            beam_log_probs = tf.where(alive, tf.gather(totals, order, batch_dims=1), -float("inf"))
            added_log_probs = tf.where(alive, tf.gather(last_log_probs, order, batch_dims=1), 0.0)
            done = done | (count >= k) | (t + 1 >= limits) | ~tf.reduce_any(alive, 1)

            ints = tf.concat([tf.reshape(top_ids, [batch, k, TOP_K]), origin[..., None], added[..., None]], -1)
            floats = tf.concat(
                [
                    tf.reshape(top_log_probs, [batch, k, TOP_K]),
                    added_log_probs[..., None],
                    tf.reshape(alignment, [batch, k, -1]),
                ],
                -1,
            )
            steps = [steps[0].write(t, ints), steps[1].write(t, floats)]
            rows_from = tf.reshape(first_row + origin, [-1])
            states = [[tf.gather(h, rows_from), tf.gather(c, rows_from)] for h, c in states]
            attentional = tf.gather(attentional, rows_from)
            return (
                t + 1,
                tf.reshape(added, [-1]),
                states,
                attentional,
                beam_log_probs,
                done,
                pool_ints,
                pool_floats,
                count,
                steps,
            )

        # Only the first beam of each sentence is alive at the start; the others join after one step.
        start_log_probs = tf.concat([tf.zeros([batch, 1]), tf.fill([batch, k - 1], -float("inf"))], 1)
        start = (
            tf.constant(0),
            tf.fill([batch * k], BOS_ID),
            states,
            tf.zeros([batch * k, self.units]),
            start_log_probs,
            tf.zeros([batch], tf.bool),
            tf.zeros([batch, 2 * k, 3], tf.int32),
            tf.zeros([batch, 2 * k, 2]),
            tf.zeros([batch], tf.int32),
            [tf.TensorArray(dtype, size=0, dynamic_size=True) for dtype in (tf.int32, tf.float32)],
        )
        *_, pool_ints, pool_floats, count, steps = tf.while_loop(
            lambda t, previous_ids, states, attentional, beam_log_probs, done, *pool_and_steps: ~tf.reduce_all(done),
            step,
            start,
        )
        return steps[0].stack(), steps[1].stack(), pool_ints, pool_floats, count

    @staticmethod
    def pad(sequences) -> np.ndarray:
        """Lists of ids → (B, S) int32, 0-padded on the right."""
        batch = np.full((len(sequences), max(len(s) for s in sequences)), PAD_ID, dtype=np.int32)
        for row, sequence in zip(batch, sequences):
            row[: len(sequence)] = sequence
        return batch

    def _start(self, source_ids: np.ndarray, copies: int):
        """Encodes once, then repeats every sentence's memory `copies` times (one per beam)."""
        values, keys, source_mask, states = self.model.encode(source_ids)

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
        if self._beam is not None:
            return self._beam_search(sources, source_ids, limits, beam_size, n_best, alpha)
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
            log_probs, states, attentional, alignment = self.model.decode_step(
                previous_ids, states, attentional, keys, values, source_mask, self.piece_gates
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
            hypothesis = self._read_out(
                ids[b, :n],
                log_probs[b, :n],
                top_ids[b, :n],
                top_log_probs[b, :n],
                alignment[b, :n, : len(source)],
                float(log_probs[b, :n].sum()),
                alpha,
            )
            results.append([hypothesis])
        return results

    def _beam_search(self, sources, source_ids, limits, beam_size, n_best, alpha) -> list[list[Hypothesis]]:
        """Beam search through the compiled loop: the graph finds the hypotheses, NumPy reads them out."""
        step_ints, step_floats, pool_ints, pool_floats, count = (
            np.asarray(x) for x in self._beam(source_ids, limits, np.int32(beam_size))
        )
        results = []
        for b, source in enumerate(sources):
            finished = [
                self._backtrack(
                    step_ints[:, b], step_floats[:, b], pool_ints[b, f], pool_floats[b, f], len(source), alpha
                )
                for f in range(count[b])
            ]
            results.append(sorted(finished, key=lambda h: -h.score)[:n_best])
        return results

    @staticmethod
    def _backtrack(ints, floats, found_ints, found_floats, source_len: int, alpha: float) -> Hypothesis:
        """Follows the back-pointers of one sentence's steps (ints (n, k, TOP_K + 2), floats
        (n, k, TOP_K + 1 + S), as :meth:`_beam_loop` returns them) from a finished hypothesis
        (step, beam, piece) with (total, last-piece) log-probabilities back to the first step."""
        end, beam, piece = (int(x) for x in found_ints)
        rows, pieces, log_probs = [beam], [piece], [found_floats[1]]
        for t in range(end - 1, -1, -1):
            # The beam read at step t + 1 was made at step t from the beam at ints[t, row, TOP_K].
            row = rows[-1]
            pieces.append(ints[t, row, TOP_K + 1])
            log_probs.append(floats[t, row, TOP_K])
            rows.append(ints[t, row, TOP_K])
        steps, rows = np.arange(end + 1), np.array(rows[::-1])
        return Searcher._read_out(
            pieces[::-1],
            log_probs[::-1],
            ints[steps, rows, :TOP_K],
            floats[steps, rows, :TOP_K],
            floats[steps, rows, TOP_K + 1 : TOP_K + 1 + source_len],
            float(found_floats[0]),
            alpha,
        )

    @staticmethod
    def _read_out(pieces, log_probs, top_ids, top_log_probs, attention, total: float, alpha: float) -> Hypothesis:
        """A hypothesis from the per-step arrays a compiled search returns: n chosen pieces and their
        log-probabilities, the top pieces and log-probabilities (n, TOP_K), attention (n, S), and the
        total log-probability that ranked it."""
        return Hypothesis(
            token_ids=np.asarray(pieces, dtype=np.int64),
            token_probs=np.exp(np.asarray(log_probs, dtype=np.float32)),
            top_ids=np.asarray(top_ids, dtype=np.int64),
            top_probs=np.exp(top_log_probs),
            attention=attention,
            log_prob=total,
            score=total / length_penalty(len(pieces), alpha),
        )

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
