import numpy as np
import pytest

from nmt.analysis import (
    MAX_CHARS,
    InputError,
    analyze,
    check_request,
    coverage,
    entropy,
    merge_pieces,
    pharaoh,
    split_sentences,
)


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


def test_coverage_totals_are_the_column_sums_and_flag_outliers():
    attention = np.array([[0.9, 0.05, 0.05, 0.0], [0.8, 0.1, 0.1, 0.0], [0.1, 0.05, 0.85, 0.0]])
    result = coverage(attention)
    np.testing.assert_allclose(result["totals"], attention.sum(0))
    assert result["unattended"] == [3] and result["over_attended"] == [0]


def test_entropy_is_zero_for_a_sharp_step_and_log_n_for_a_flat_one():
    assert entropy(np.array([[1.0, 0.0, 0.0], [1 / 3, 1 / 3, 1 / 3]])) == pytest.approx([0.0, np.log(3)], abs=1e-4)


def test_pharaoh_alignment_on_a_hand_checked_example():
    source = ["▁le", "▁chat", "▁noir", "</s>"]
    target = ["▁the", "▁black", "▁ca", "t", "</s>"]
    attention = np.array(
        [
            [0.8, 0.1, 0.1, 0.0],  # the   → le
            [0.1, 0.1, 0.7, 0.1],  # black → noir
            [0.1, 0.6, 0.2, 0.1],  # ca    → chat
            [0.1, 0.7, 0.1, 0.1],  # t     → chat
            [0.0, 0.1, 0.1, 0.8],  # </s>  (left out)
        ]
    )
    assert pharaoh(source, target, attention) == "0-0 2-1 1-2"


def test_nbest_and_forced_decoding_of_the_reference(translator):
    result = analyze(translator, "Je suis content.", "I'm happy.", 4)
    segment = result["segments"][0]
    assert 1 <= len(segment["nbest"]) <= 4
    assert segment["nbest"][0]["target_tokens"] == segment["target_tokens"]
    assert [h["score"] for h in segment["nbest"]] == sorted((h["score"] for h in segment["nbest"]), reverse=True)
    reference = segment["reference"]
    assert reference["target_tokens"][-1] == "</s>"
    attention = np.array(reference["attention"])
    assert attention.shape == (len(reference["target_tokens"]), len(segment["source_tokens"]))
    assert reference["total_log_prob"] == pytest.approx(sum(reference["token_log_probs"]), abs=1e-3)
    assert all(lp <= 0 for lp in reference["token_log_probs"])
    np.testing.assert_allclose(segment["coverage"]["totals"], np.array(segment["attention"]).sum(0), atol=1e-3)
    assert len(segment["entropy"]) == len(segment["target_tokens"])


def test_reference_with_another_sentence_count_is_scored_whole(translator):
    result = analyze(translator, "Je suis content. Il fait froid.", "I'm happy and it's cold.", 1)
    assert result["bleu"] is not None and "scored as a whole" in result["notice"]
    assert all("reference" not in s for s in result["segments"])


@pytest.mark.parametrize(
    "text, sentences",
    [
        ("« Viens ! » Puis il est parti.", ["« Viens ! »", "Puis il est parti."]),
        ("«Viens!» Puis il est parti.", ["«Viens!»", "Puis il est parti."]),
        ('Il a dit "Non." Puis rien.', ['Il a dit "Non."', "Puis rien."]),
        ("M. Dupont est là. Mme Curie aussi.", ["M. Dupont est là.", "Mme Curie aussi."]),
        ("J. K. Rowling écrit. Il y a. Bon.", ["J. K. Rowling écrit.", "Il y a.", "Bon."]),
        ("Attends… Non, rien.", ["Attends...", "Non, rien."]),
        ("안녕하세요.반갑습니다!저는 톰이에요.", ["안녕하세요.", "반갑습니다!", "저는 톰이에요."]),
        ("Le prix est 3.50 euros. Merci.", ["Le prix est 3.50 euros.", "Merci."]),
        ("C'est le plan B.\nPuis on part.", ["C'est le plan B.", "Puis on part."]),
    ],
)
def test_split_sentences_knows_quotes_abbreviations_ellipses_and_unspaced_korean(text, sentences):
    assert split_sentences(text) == sentences


def test_a_sentence_beyond_what_the_model_reads_is_cut_with_a_notice(translator):
    limit = translator.max_source_pieces
    long_sentence = "Il fait très froid ce matin et " * 40 + "je reste là."
    assert len(translator.source_tokenizer.encode(long_sentence)) > limit
    result = analyze(translator, f"Je suis content. {long_sentence}", "", 1)
    assert f"first {limit} pieces of sentence 2" in result["notice"]
    assert len(result["segments"][1]["source_tokens"]) == limit + 1  # and </s>
    assert analyze(translator, "Je suis content.", "", 1)["notice"] == ""
