import json
import os
import re
import subprocess
import sys

import numpy as np
import pytest

from conftest import ROOT
from nmt.search import length_penalty
from nmt.tokenizer import EOS_ID

SENTENCES = ["Je suis content.", "Il fait très froid ce matin.", "Où est la gare ?", "Tom a mangé une pomme."]


def _sources(translator):
    return [translator.source_ids(s) for s in SENTENCES]


def _assert_same_hypotheses(first, second):
    assert len(first) == len(second)
    for a, b in zip(first, second):
        np.testing.assert_array_equal(a.token_ids, b.token_ids)
        np.testing.assert_array_equal(a.top_ids, b.top_ids)
        np.testing.assert_allclose(a.token_probs, b.token_probs, rtol=1e-4)
        np.testing.assert_allclose(a.top_probs, b.top_probs, rtol=1e-4)
        np.testing.assert_allclose(a.attention, b.attention, atol=1e-5)
        assert a.score == pytest.approx(b.score, abs=1e-4) and a.finished == b.finished


RECORDED = json.loads((ROOT / "tests" / "fixtures" / "shipped_search.json").read_text(encoding="utf-8"))


@pytest.mark.parametrize("pair", sorted(RECORDED))
def test_search_reproduces_the_recorded_outputs_of_the_shipped_checkpoints(pair):
    """Greedy and beam search (n-best, length penalties, length limits) give the pieces, scores and
    alternatives recorded from the shipped models (fr-en: re-recorded when it was retrained), under
    TensorFlow and JAX alike."""
    from nmt.translator import Translator

    record = RECORDED[pair]
    translator = Translator.load(ROOT / "checkpoints" / pair)
    sources = [translator.source_ids(s) for s in record["sentences"]]
    for case, expected in record["searches"].items():
        beam, n_best, alpha, max_length = re.fullmatch(r"beam(\d+)-n(\d+)-a([\d.]+)-max(\d+)", case).groups()
        found = translator.searcher.search(sources, int(beam), int(n_best), float(alpha), int(max_length))
        for hypotheses, recorded in zip(found, expected, strict=True):
            assert [h.token_ids.tolist() for h in hypotheses] == [r["token_ids"] for r in recorded], case
            assert [h.top_ids.tolist() for h in hypotheses] == [r["top_ids"] for r in recorded], case
            assert [h.score for h in hypotheses] == pytest.approx([r["score"] for r in recorded], abs=2e-3)


def test_the_search_tests_pass_under_jax():
    """The same search, compiled by jax.jit: this module's tests run again under Keras' JAX backend."""
    env = {**os.environ, "KERAS_BACKEND": "jax", "JAX_PLATFORMS": "cpu"}
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/test_search.py", "-k", "not jax"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert done.returncode == 0 and " passed" in done.stdout, done.stdout[-3000:]


def test_greedy_is_the_argmax_at_every_step(translator):
    searcher = translator.searcher
    greedy = [h[0] for h in searcher.search(_sources(translator), beam_size=1)]
    assert all(h.finished for h in greedy)
    # Greedy is the argmax at every step: each chosen piece is the step's most probable one.
    for hypothesis in greedy:
        np.testing.assert_array_equal(hypothesis.token_ids, hypothesis.top_ids[:, 0])
        np.testing.assert_allclose(hypothesis.token_probs, hypothesis.top_probs[:, 0], rtol=1e-6)
    # Sentence by sentence (batch of one) gives the same as the batch.
    for source, hypothesis in zip(_sources(translator), greedy):
        alone = searcher.search([source], beam_size=1)[0][0]
        np.testing.assert_array_equal(alone.token_ids, hypothesis.token_ids)
        np.testing.assert_allclose(alone.attention, hypothesis.attention, atol=1e-5)


def test_every_hypothesis_carries_its_own_attention_and_probabilities(translator):
    """Re-scoring each n-best hypothesis with forced decoding reproduces the attention and
    probabilities the beam recorded, so back-pointers reordered the histories correctly."""
    sources = _sources(translator)
    nbests = translator.searcher.search(sources, beam_size=4, n_best=4)
    pairs = [(source, h) for source, hyps in zip(sources, nbests) for h in hyps]
    assert len({tuple(h.token_ids) for _, h in pairs}) > len(sources)  # the n-best lists differ
    forced = translator.searcher.force([s for s, _ in pairs], [h.token_ids for _, h in pairs])
    for (_, hypothesis), (log_probs, attention) in zip(pairs, forced):
        np.testing.assert_allclose(hypothesis.attention, attention, atol=1e-4)
        np.testing.assert_allclose(np.log(hypothesis.token_probs), log_probs, atol=1e-3)
        assert hypothesis.log_prob == pytest.approx(float(log_probs.sum()), abs=1e-3)


def test_beam_results_are_ranked_distributions_within_the_length_limit(translator):
    sources = _sources(translator)
    nbests = translator.searcher.search(sources, beam_size=5, n_best=3, alpha=0.6, max_length=6)
    for source, hyps in zip(sources, nbests):
        assert 1 <= len(hyps) <= 3
        assert [h.score for h in hyps] == sorted((h.score for h in hyps), reverse=True)
        for h in hyps:
            assert len(h.token_ids) <= 6
            assert h.attention.shape == (len(h.token_ids), len(source))
            np.testing.assert_allclose(h.attention.sum(1), 1.0, rtol=1e-5)  # no weight left on padding
            assert h.score == pytest.approx(h.log_prob / length_penalty(len(h.token_ids), 0.6))
            assert EOS_ID not in h.token_ids[:-1]


def test_bad_search_arguments_are_refused(translator):
    with pytest.raises(ValueError, match="n_best"):
        translator.searcher.search(_sources(translator), beam_size=2, n_best=3)


def test_forced_decoding_of_greedy_output_reproduces_its_probabilities_and_attention(translator):
    sources = _sources(translator)
    greedy = [h[0] for h in translator.searcher.search(sources, beam_size=1)]
    for hypothesis, (log_probs, attention) in zip(
        greedy, translator.searcher.force(sources, [h.token_ids for h in greedy])
    ):
        np.testing.assert_allclose(log_probs, np.log(hypothesis.token_probs), atol=1e-4)
        np.testing.assert_allclose(attention, hypothesis.attention, atol=1e-5)


@pytest.mark.skipif(os.environ.get("KERAS_BACKEND", "tensorflow") != "tensorflow", reason="TensorFlow's threads")
def test_decoding_processes_run_one_thread_per_operation_and_no_graph_optimiser():
    """What the app and the command line call before they decode anything."""
    code = (
        "import tensorflow as tf; from nmt.translator import use_decoding_settings; use_decoding_settings(); "
        "import os; print(tf.config.threading.get_intra_op_parallelism_threads(), "
        "tf.config.threading.get_inter_op_parallelism_threads() == os.cpu_count(), "
        "tf.config.optimizer.get_experimental_options().get('disable_meta_optimizer'))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert done.stdout.split() == ["1", "True", "True"], done.stderr[-1000:]
