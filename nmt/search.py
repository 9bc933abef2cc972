"""Greedy and beam search over the model's step function, batched, returning the attention of every step.

Each search is written once, in ``keras.ops``: the encoder, then a ``while_loop`` of decoder steps
that ends when every sentence is done, writing each step's results into buffers of fixed shape. The
backend compiles it: ``tf.function`` under TensorFlow (with input signatures, so sentences of any
length reuse one graph), ``jax.jit`` under JAX (once per batch shape, step count and beam size); other
backends run the same loop eagerly. NumPy then reads the hypotheses out. Every hypothesis carries its
piece ids, each piece's probability, the top alternatives at each step and its alignment weights
(target steps × source positions). Under beam search the loop records back-pointers, and the
histories are read out by following them, so each hypothesis carries exactly the attention that
produced it.
"""

from __future__ import annotations

import dataclasses

import keras
import numpy as np
from keras import ops

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


# A search loop records named fields at every step. Each write into a tensor of a while loop costs
# about a tenth of a millisecond on these CPUs, so the fields of one dtype are packed into one row per
# sentence: two writes a step however many fields there are (docs/experiments.md).


def _greedy_fields(source_len) -> dict:
    """Name → (dtype, shape per sentence and step) of what greedy search records."""
    return {
        "top_ids": ("int32", (TOP_K,)),
        "top_log_probs": ("float32", (TOP_K,)),
        "alignment": ("float32", (source_len,)),
    }


def _beam_fields(k, source_len) -> dict:
    """What beam search records per sentence and step: per beam (k of them) its top pieces, the beam
    it came from (``origin``), the piece it added and its log-probability, its alignment weights; per
    candidate (2k) whether it ``finishing``, and its beam, piece, total and last-piece log-probability."""
    return {
        "top_ids": ("int32", (k, TOP_K)),
        "origin": ("int32", (k,)),
        "added": ("int32", (k,)),
        "finishing": ("int32", (2 * k,)),
        "candidate_beam": ("int32", (2 * k,)),
        "candidate_piece": ("int32", (2 * k,)),
        "top_log_probs": ("float32", (k, TOP_K)),
        "added_log_prob": ("float32", (k,)),
        "alignment": ("float32", (k, source_len)),
        "candidate_total": ("float32", (2 * k,)),
        "candidate_log_prob": ("float32", (2 * k,)),
    }


def _width(shape) -> int:
    width = 1
    for size in shape:
        width = width * size
    return width


def _empty_record(steps, batch, fields: dict) -> dict:
    """dtype → zeros (steps, B, total width of that dtype's fields)."""
    widths: dict = {}
    for dtype, shape in fields.values():
        widths[dtype] = widths.get(dtype, 0) + _width(shape)
    return {dtype: ops.zeros((steps, batch, width), dtype) for dtype, width in widths.items()}


def _write(record: dict, t, fields: dict, values: dict) -> dict:
    """Step t of `record` := `values` (name → (B, *shape)), packed by dtype in the order of `fields`."""
    index = ops.reshape(t, (1, 1))
    written = {}
    for dtype, buffer in record.items():
        batch = ops.shape(buffer)[1]
        rows = [ops.reshape(ops.cast(values[n], dtype), (batch, -1)) for n, (d, _) in fields.items() if d == dtype]
        written[dtype] = ops.scatter_update(buffer, index, ops.expand_dims(ops.concatenate(rows, axis=1), 0))
    return written


def _unpacked(record: dict, fields: dict) -> dict:
    """The recorded fields as NumPy arrays (steps, B, *shape); `fields` with concrete shapes."""
    buffers = {dtype: np.asarray(buffer) for dtype, buffer in record.items()}  # one copy off the device each
    arrays, offsets = {}, dict.fromkeys(buffers, 0)
    for name, (dtype, shape) in fields.items():
        buffer, start = buffers[dtype], offsets[dtype]
        offsets[dtype] += _width(shape)
        arrays[name] = buffer[:, :, start : offsets[dtype]].reshape(*buffer.shape[:2], *shape)
    return arrays


def _compile(loop, scalars: int):
    """The backend's compiled form of a search loop whose arguments are source_ids (B, S) int32,
    limits (B,) int32 and `scalars` int32 scalars; under JAX the scalars are compile-time constants,
    since they fix buffer shapes."""
    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        signature = [tf.TensorSpec([None, None], tf.int32), tf.TensorSpec([None], tf.int32)]
        signature += [tf.TensorSpec([], tf.int32)] * scalars
        # AutoGraph's rewriting of the model code would only lengthen the trace: the loops are explicit.
        return tf.function(loop, input_signature=signature, autograph=False)
    if backend == "jax":
        import jax

        return jax.jit(loop, static_argnums=tuple(range(2, 2 + scalars)))
    return loop


class Searcher:
    """Decodes batches of source id sequences with a trained :class:`Seq2Seq`, whose weights it reads
    once, when it is made."""

    def __init__(self, model: Seq2Seq):
        self.model = model
        self.units = model.config.units
        self.piece_gates = model.piece_gates()
        self._greedy = _compile(self._greedy_loop, scalars=1)
        self._beam = _compile(self._beam_loop, scalars=2)

    def _greedy_loop(self, source_ids, limits, steps):
        """Greedy search: the encoder, then decoder steps until every sentence has produced eos or
        reached its limit (at most `steps` = the largest limit).

        source_ids (B, S), limits (B,) → buffers over the n = `steps` steps, time first: the TOP_K
        most probable pieces ``top_ids`` (n, B, TOP_K), their log-probabilities ``top_log_probs`` and
        the alignment weights ``alignment`` (n, B, S). The chosen piece is the first of the top
        pieces; each sentence ends at its first eos or its limit, and the caller cuts the rest.
        """
        values, keys, source_mask, states = self.model.encode(source_ids)
        batch, source_len = ops.shape(source_ids)[0], ops.shape(source_ids)[1]
        fields = _greedy_fields(source_len)
        buffers = _empty_record(steps, batch, fields)

        def step(t, previous_ids, states, attentional, finished, buffers):
            log_probs, states, attentional, alignment = self.model.decode_step(
                previous_ids, states, attentional, keys, values, source_mask, self.piece_gates
            )
            top_log_probs, top_ids = ops.top_k(log_probs, TOP_K)
            top_ids = ops.cast(top_ids, "int32")
            buffers = _write(
                buffers, t, fields, {"top_ids": top_ids, "top_log_probs": top_log_probs, "alignment": alignment}
            )
            chosen = top_ids[:, 0]
            finished = finished | ops.equal(chosen, EOS_ID) | (t + 1 >= limits)
            return t + 1, chosen, states, attentional, finished, buffers

        start = (
            ops.convert_to_tensor(0, "int32"),
            ops.full((batch,), BOS_ID, "int32"),
            states,
            ops.zeros((batch, self.units)),
            ops.zeros((batch,), "bool"),
            buffers,
        )
        *_, buffers = ops.while_loop(lambda t, ids, states, h, finished, buffers: ~ops.all(finished), step, start)
        return buffers

    def _beam_loop(self, source_ids, limits, steps, beam_size):
        """Beam search; k = `beam_size` beams per sentence, at most `steps` steps.

        Each step extends every live beam by every piece and keeps the 2k best candidates; those
        among the k best that end (eos or the limit) finish, and the k best that go on are the new
        beams. A sentence is done once k hypotheses have finished, at its limit, or when nothing goes
        on. Histories are not reordered in the loop: each step records the back-pointers, and
        :meth:`_backtrack` follows them from each finished candidate.

        Returns buffers over n = `steps` steps, time first. Per beam (n, B, k, ...): ``top_ids`` and
        ``top_log_probs`` (TOP_K each), ``origin`` (the beam it came from), ``added`` (the piece it
        added) and ``added_log_prob``, ``alignment`` (S). Per candidate (n, B, 2k): ``finishing``,
        its ``candidate_beam``, ``candidate_piece``, ``candidate_total`` and ``candidate_log_prob``
        (total and last-piece log-probabilities).
        """
        k = beam_size
        values, keys, source_mask, states = self.model.encode(source_ids)
        batch, source_len = ops.shape(source_ids)[0], ops.shape(source_ids)[1]

        def repeat(x):
            return ops.repeat(x, k, axis=0)

        values, keys, source_mask = repeat(values), repeat(keys), repeat(source_mask)
        states = [[repeat(h), repeat(c)] for h, c in states]
        rank = ops.expand_dims(ops.arange(2 * k, dtype="int32"), 0)
        first_row = ops.expand_dims(ops.arange(batch, dtype="int32") * k, 1)  # (B, 1): of each sentence's beams
        first_candidate = 2 * first_row  # (B, 1): of its 2k candidates
        fields = _beam_fields(k, source_len)
        buffers = _empty_record(steps, batch, fields)

        def step(t, previous_ids, states, attentional, beam_log_probs, done, count, buffers):
            log_probs, states, attentional, alignment = self.model.decode_step(
                previous_ids, states, attentional, keys, values, source_mask, self.piece_gates
            )
            top_log_probs, top_ids = ops.top_k(log_probs, TOP_K)
            vocab = ops.shape(log_probs)[1]
            extended = ops.expand_dims(beam_log_probs, 2) + ops.reshape(log_probs, (batch, k, vocab))
            totals, flat = ops.top_k(ops.reshape(extended, (batch, k * vocab)), 2 * k)  # (B, 2k), best first
            flat = ops.cast(flat, "int32")
            beams, pieces = flat // vocab, flat % vocab
            valid = (totals > -np.inf) & ~ops.expand_dims(done, 1)
            ends = ops.equal(pieces, EOS_ID) | ops.expand_dims(t + 1 >= limits, 1)
            # Only an ending among the k best counts; lower ones would not have been kept.
            finishing = valid & ends & (rank < k)
            going_on = valid & ~ends
            kept = going_on & (ops.cumsum(ops.cast(going_on, "int32"), axis=1) <= k)
            last_log_probs = totals - ops.take(ops.reshape(beam_log_probs, (-1,)), first_row + beams)
            count = count + ops.sum(ops.cast(finishing, "int32"), axis=1)

            # The new beams: the kept candidates in rank order; empty beams get -inf.
            order = ops.argsort(ops.where(kept, rank, rank + 2 * k), axis=1)[:, :k]

            def ordered(x):  # x (B, 2k) → (B, k) in that order; a flat take is cheaper than take_along_axis
                return ops.take(ops.reshape(x, (-1,)), first_candidate + order)

            alive = ordered(kept)
            origin = ops.where(alive, ordered(beams), 0)
            added = ops.where(alive, ordered(pieces), EOS_ID)
            beam_log_probs = ops.where(alive, ordered(totals), -np.inf)
            done = done | (count >= k) | (t + 1 >= limits) | ~ops.any(alive, axis=1)
            buffers = _write(
                buffers,
                t,
                fields,
                {
                    "top_ids": ops.reshape(ops.cast(top_ids, "int32"), (batch, k, TOP_K)),
                    "top_log_probs": ops.reshape(top_log_probs, (batch, k, TOP_K)),
                    "origin": origin,
                    "added": added,
                    "added_log_prob": ops.where(alive, ordered(last_log_probs), 0.0),
                    "alignment": ops.reshape(alignment, (batch, k, source_len)),
                    "finishing": finishing,
                    "candidate_beam": beams,
                    "candidate_piece": pieces,
                    "candidate_total": totals,
                    "candidate_log_prob": last_log_probs,
                },
            )
            rows_from = ops.reshape(first_row + origin, (-1,))
            states = [[ops.take(h, rows_from, axis=0), ops.take(c, rows_from, axis=0)] for h, c in states]
            attentional = ops.take(attentional, rows_from, axis=0)
            return t + 1, ops.reshape(added, (-1,)), states, attentional, beam_log_probs, done, count, buffers

        # Only the first beam of each sentence is alive at the start; the others join after one step.
        start_log_probs = ops.concatenate([ops.zeros((batch, 1)), ops.full((batch, k - 1), -np.inf)], axis=1)
        start = (
            ops.convert_to_tensor(0, "int32"),
            ops.full((batch * k,), BOS_ID, "int32"),
            states,
            ops.zeros((batch * k, self.units)),
            start_log_probs,
            ops.zeros((batch,), "bool"),
            ops.zeros((batch,), "int32"),
            buffers,
        )
        *_, buffers = ops.while_loop(lambda t, ids, states, h, lp, done, count, buffers: ~ops.all(done), step, start)
        return buffers

    @staticmethod
    def pad(sequences) -> np.ndarray:
        """Lists of ids → (B, S) int32, 0-padded on the right."""
        batch = np.full((len(sequences), max(len(s) for s in sequences)), PAD_ID, dtype=np.int32)
        for row, sequence in zip(batch, sequences):
            row[: len(sequence)] = sequence
        return batch

    def search(self, sources, beam_size: int = 1, n_best: int = 1, alpha: float = 1.0, max_length: int = 100):
        """sources: lists of source ids (eos included). Returns, per sentence, its `n_best` hypotheses, best first.

        Each sentence may produce at most ``min(max_length, 2 · source length + 10)`` pieces.
        """
        if beam_size < 1 or not 1 <= n_best <= beam_size:
            raise ValueError(f"need beam_size ≥ 1 and 1 ≤ n_best ≤ beam_size, got {beam_size} and {n_best}")
        source_ids = self.pad(sources)
        limits = np.minimum(max_length, 2 * np.array([len(s) for s in sources]) + 10).astype(np.int32)
        steps = int(limits.max())
        source_len = source_ids.shape[1]
        if beam_size == 1:
            buffers = _unpacked(self._greedy(source_ids, limits, steps), _greedy_fields(source_len))
            return self._read_greedy(sources, buffers, limits, alpha)
        buffers = _unpacked(self._beam(source_ids, limits, steps, beam_size), _beam_fields(beam_size, source_len))
        results = []
        for b, source in enumerate(sources):
            finishers = np.argwhere(buffers["finishing"][:, b])  # (step, rank) in the order they finished
            finished = [self._backtrack(buffers, b, int(t), int(r), len(source), alpha) for t, r in finishers]
            results.append(sorted(finished, key=lambda h: -h.score)[:n_best])
        return results

    def _read_greedy(self, sources, buffers: dict, limits, alpha: float) -> list[list[Hypothesis]]:
        """One hypothesis per sentence from the greedy loop's buffers, cut after its eos or limit."""
        top_ids, top_log_probs, alignment = buffers["top_ids"], buffers["top_log_probs"], buffers["alignment"]
        results = []
        for b, source in enumerate(sources):
            ids = top_ids[: limits[b], b, 0]
            ends = np.flatnonzero(ids == EOS_ID)
            n = int(ends[0]) + 1 if len(ends) else int(limits[b])
            log_probs = top_log_probs[:n, b, 0]
            hypothesis = self._read_out(
                ids[:n],
                log_probs,
                top_ids[:n, b],
                top_log_probs[:n, b],
                alignment[:n, b, : len(source)],
                float(log_probs.sum()),
                alpha,
            )
            results.append([hypothesis])
        return results

    @staticmethod
    def _backtrack(buffers: dict, b: int, end: int, rank: int, source_len: int, alpha: float) -> Hypothesis:
        """The hypothesis of sentence b that finished at step `end` as candidate `rank`: follows the
        back-pointers from that candidate's beam to the first step."""
        row = int(buffers["candidate_beam"][end, b, rank])
        pieces = [buffers["candidate_piece"][end, b, rank]]
        log_probs = [buffers["candidate_log_prob"][end, b, rank]]
        rows = [row]
        for t in range(end - 1, -1, -1):
            # The beam read at step t + 1 was made at step t from beam origin[t, b, row].
            pieces.append(buffers["added"][t, b, row])
            log_probs.append(buffers["added_log_prob"][t, b, row])
            row = int(buffers["origin"][t, b, row])
            rows.append(row)
        steps, rows = np.arange(end + 1), np.array(rows[::-1])
        return Searcher._read_out(
            pieces[::-1],
            log_probs[::-1],
            buffers["top_ids"][steps, b, rows],
            buffers["top_log_probs"][steps, b, rows],
            buffers["alignment"][steps, b, rows, :source_len],
            float(buffers["candidate_total"][end, b, rank]),
            alpha,
        )

    @staticmethod
    def _read_out(pieces, log_probs, top_ids, top_log_probs, attention, total: float, alpha: float) -> Hypothesis:
        """A hypothesis from per-step arrays: n chosen pieces and their log-probabilities, the top
        pieces and log-probabilities (n, TOP_K), attention (n, S), and the total log-probability that
        ranked it."""
        return Hypothesis(
            token_ids=np.asarray(pieces, dtype=np.int64),
            token_probs=np.exp(np.asarray(log_probs, dtype=np.float32)),
            top_ids=np.asarray(top_ids, dtype=np.int64),
            top_probs=np.exp(top_log_probs),
            attention=attention,
            log_prob=total,
            score=total / length_penalty(len(pieces), alpha),
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
