import numpy as np
import pytest

from nmt.analysis import MAX_CHARS, InputError, analyze, check_request, merge_pieces, split_sentences


def test_split_sentences():
    assert split_sentences("Je suis là. Tu viens ?\nOui!") == ["Je suis là.", "Tu viens ?", "Oui!"]
    assert split_sentences("톰은 집에 있어요. 나는 학교에 가요.") == ["톰은 집에 있어요.", "나는 학교에 가요."]
    assert split_sentences(" \u200b\n\t ") == []


def test_requests_are_checked_on_the_server():
    with pytest.raises(InputError, match="enter some text"):
        check_request(" \x00\u200b ", 1)
    with pytest.raises(InputError, match="from 1 \\(greedy\\) to 10"):
        check_request("Bonjour.", 11)
    with pytest.raises(InputError, match="whole number"):
        check_request("Bonjour.", "five")
    sentences, beam, notice = check_request("Bonjour. " * 1000, 2)
    assert sum(len(s) + 1 for s in sentences) <= MAX_CHARS + 1 and notice


def test_merge_pieces_sums_over_source_and_averages_over_target_pieces():
    source = ["▁Je", "▁suis", "▁con", "tent", ".", "</s>"]
    target = ["▁I", "'", "m", "▁happy", "</s>"]
    attention = np.random.default_rng(0).dirichlet(np.ones(6), size=5)
    words_source, words_target, merged = merge_pieces(source, target, attention)
    assert words_source == ["Je", "suis", "content.", "</s>"]
    assert words_target == ["I'm", "happy", "</s>"]
    np.testing.assert_allclose(merged.sum(1), 1.0)
    np.testing.assert_allclose(merged[0, 2], attention[:3, 2:5].sum(1).mean())


def test_analyze_contract(translator):
    result = analyze(translator, "Je suis content. Il fait froid.", "I'm happy. It's cold.", 3)
    assert set(result) >= {"translation", "bleu", "chrf", "segments"}
    assert len(result["segments"]) == 2
    assert result["translation"] == " ".join(s["translation"] for s in result["segments"])
    for segment in result["segments"]:
        attention = np.array(segment["attention"])
        assert attention.shape == (len(segment["target_tokens"]), len(segment["source_tokens"]))
        np.testing.assert_allclose(attention.sum(1), 1.0, atol=1e-3)
        assert len(segment["token_probs"]) == len(segment["target_tokens"])
        assert segment["source_tokens"][-1] == "</s>"
    assert 0 <= result["bleu"] <= 100 and 0 <= result["chrf"] <= 100
    assert len(result["bleu_details"]["precisions"]) == 4

    without = analyze(translator, "Je suis content.", "", 1)
    assert without["bleu"] is None and without["chrf"] is None
