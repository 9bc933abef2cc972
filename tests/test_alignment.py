"""Word alignments from attention: pieces to the given words, link extraction, AER, the baselines."""

import numpy as np
import pytest

from conftest import DATA
from nmt.alignment import (
    GoldPair,
    WordAttention,
    argmax_links,
    attention_by_word,
    diagonal,
    eflomal_links,
    error_rate,
    grow_diag_final_and,
    parse_pharaoh,
    pharaoh,
    pieces_of_words,
    read_gold,
    tokenize,
)

ALIBI = DATA / "alignments" / "alibi"


def test_error_rate_on_a_hand_made_example():
    gold = [GoldPair(["a", "b", "c"], ["x", "y", "z"], sure={(0, 0), (1, 1)}, possible={(0, 0), (1, 1), (2, 1)})]
    # A = {0-0 sure, 2-1 possible, 2-2 wrong}: |A∩S| = 1, |A∩P| = 2, |A| = 3, |S| = 2.
    result = error_rate([{(0, 0), (2, 1), (2, 2)}], gold)
    assert result["aer"] == pytest.approx(1 - 3 / 5, abs=1e-4)
    assert result["precision"] == pytest.approx(2 / 3, abs=1e-4)
    assert result["recall"] == pytest.approx(1 / 2, abs=1e-4)
    assert error_rate([{(0, 0), (1, 1)}], gold)["aer"] == 0.0
    assert error_rate([set()], gold)["aer"] == 1.0


def test_pharaoh_round_trip_and_talp_possible_links():
    assert parse_pharaoh("0-0 2?1 1-2") == {(0, 0), (1, 2)}
    assert parse_pharaoh("0-0 2?1 1-2", possible=True) == {(2, 1)}
    assert pharaoh({(1, 2), (0, 0), (3, 1)}) == "0-0 3-1 1-2"


def test_pieces_belong_to_the_given_words_by_offset(translator):
    """Elisions, punctuation, characters spelled as bytes and a word that normalises to nothing."""
    words = ["l'homme", "«", "Zoë", "ƒ", "l'", "homme", "\u200b", ",", "fin"]
    ids, owners = pieces_of_words(translator.source_tokenizer, words)
    pieces = translator.source_tokenizer.pieces(ids)
    by_word = {k: "".join(p for p, o in zip(pieces, owners) if o == k) for k in range(len(words))}
    assert any(p.startswith("<0x") for p in pieces), "the tiny vocabulary spells ƒ as bytes"
    assert owners == sorted(owners) and set(owners) == set(range(len(words))) - {6}
    assert by_word[0].replace("▁", "") == "l'homme" and by_word[5].replace("▁", "") == "homme"
    assert by_word[4].replace("▁", "") == "l'" and by_word[7].replace("▁", "") == ","
    assert ids == translator.source_tokenizer.encode(" ".join(words)), "the same pieces as the sentence's"


def test_word_attention_rows_are_distributions_and_links_stay_in_range(translator):
    pairs = [("Je suis content .".split(), "I am happy .".split()), ("Il fait froid !".split(), "It's cold !".split())]
    for (source, target), attention in zip(pairs, attention_by_word(translator, pairs)):
        assert attention.weights.shape == (len(target), len(source))
        np.testing.assert_allclose(attention.weights.sum(1) + attention.eos, 1.0, atol=1e-4)
        assert all(0 <= i < len(source) and 0 <= j < len(target) for i, j in argmax_links(attention))


def test_argmax_links_on_a_known_matrix():
    weights = np.array([[0.7, 0.1], [0.1, 0.2], [0.3, 0.6]])
    attention = WordAttention(weights, np.array([0.2, 0.7, 0.1]))
    assert argmax_links(attention) == {(0, 0), (1, 1), (1, 2)}, "word 1 links even though it looks at </s> most"


def test_diagonal_and_grow_diag_final_and():
    assert diagonal(4, 2) == {(1, 0), (3, 1)} and diagonal(2, 4) == {(0, 0), (0, 1), (1, 2), (1, 3)}
    # From the intersection {0-0, 1-1}: 2-1 neighbours 1-1 and covers the unaligned source word 2.
    assert grow_diag_final_and({(0, 0), (1, 1), (2, 1)}, {(0, 0), (1, 1)}, 3, 3) == {(0, 0), (1, 1), (2, 1)}
    # 0-1 neighbours 0-0 but both its words are aligned: out. 2-3 neighbours nothing, but joins two
    # unaligned words: in, by the final step.
    assert grow_diag_final_and({(0, 0), (1, 1), (0, 1), (2, 3)}, {(0, 0), (1, 1)}, 3, 4) == {(0, 0), (1, 1), (2, 3)}


def test_the_human_gold_set_reads_with_sure_links_inside_possible():
    gold = read_gold(ALIBI)
    assert len(gold) == 522
    assert all(pair.sure <= pair.possible for pair in gold)
    assert gold[1].source[:3] == ["Un", "meunier", "ne"] and (0, 6) in gold[1].sure


def test_tokenize_splits_as_the_gold_data_does():
    assert tokenize("L'homme n'y est pas, dit-il.", "fr") == [
        "L'",
        "homme",
        "n'",
        "y",
        "est",
        "pas",
        ",",
        "dit-il",
        ".",
    ]
    assert tokenize("I don't know.", "en") == ["I", "don", "'t", "know", "."]


def test_eflomal_aligns_a_repeated_pattern():
    sources = [["le", "chat"], ["le", "chien"], ["un", "chat"], ["un", "chien"]] * 25
    targets = [["the", "cat"], ["the", "dog"], ["a", "cat"], ["a", "dog"]] * 25
    links = eflomal_links(sources, targets)
    assert len(links) == len(sources) and links[0] == {(0, 0), (1, 1)} and links[3] == {(0, 0), (1, 1)}


def test_align_command_reads_both_input_forms(trained_checkpoint, tmp_path, capsys):
    from nmt.__main__ import main

    (tmp_path / "in.txt").write_text("Je suis content . ||| I am happy .\nl'homme ||| the man\n")
    assert main(["align", "--checkpoint", str(trained_checkpoint), "--input", str(tmp_path / "in.txt")]) == 0
    from_joint = capsys.readouterr().out.splitlines()
    (tmp_path / "s").write_text("Je suis content .\nl'homme\n")
    (tmp_path / "t").write_text("I am happy .\nthe man\n")
    args = ["--src-file", str(tmp_path / "s"), "--ref-file", str(tmp_path / "t")]
    assert main(["align", "--checkpoint", str(trained_checkpoint), *args]) == 0
    assert capsys.readouterr().out.splitlines() == from_joint and len(from_joint) == 2
    assert all(0 <= i < 4 and 0 <= j < 4 for i, j in parse_pharaoh(from_joint[0]))
    (tmp_path / "bad.txt").write_text("no separator\n")
    assert main(["align", "--checkpoint", str(trained_checkpoint), "--input", str(tmp_path / "bad.txt")]) == 2
    assert "expected 'source ||| target'" in capsys.readouterr().err


def test_piece_links_follow_word_links_onto_the_training_pieces(translator):
    from nmt.alignment import piece_links

    source_tokenizer, target_tokenizer = translator.source_tokenizer, translator.target_tokenizer
    pair = ("L'homme dort.", "The man sleeps.")
    # Words: L' homme dort . / The man sleeps .  ("The" and "L'" are left unlinked.)
    links = piece_links((source_tokenizer, target_tokenizer), pair, ("fr", "en"), {(1, 1), (2, 2), (3, 3)})
    source = source_tokenizer.pieces(source_tokenizer.encode(pair[0]))
    target = target_tokenizer.pieces(target_tokenizer.encode(pair[1]))

    def text(pieces, indices):
        return "".join(pieces[i] for i in sorted(indices)).replace("▁", "")

    linked = {}
    for t, s in links:
        linked.setdefault(t, set()).add(s)
    # Each target piece links to all the pieces of one source word; group the target pieces by it.
    words = {}
    for t, sources in sorted(linked.items()):
        words.setdefault(text(source, sources), set()).add(t)
    assert {text(target, pieces): word for word, pieces in words.items()} == {
        "man": "homme",
        "sleeps": "dort",
        ".": ".",
    }


def test_a_tiny_guided_run_attends_where_its_guide_says(trained_checkpoint, tmp_path):
    """The same tiny run as the shared checkpoint, with guided alignment: its attention agrees
    with eflomal's links of its own training pairs far more than the unguided run's does."""
    import dataclasses

    from conftest import write_sample
    from nmt.training import read_split, train
    from nmt.translator import Translator

    unguided = Translator.load(trained_checkpoint)
    config = dataclasses.replace(
        unguided.config,
        data=str(write_sample(tmp_path / "fra-sample.txt")),
        output=str(tmp_path / "guided"),
        guided_alignment=1.0,
    )
    guided = Translator.load(train(config))
    split, _ = read_split(config)
    cache = (tmp_path / "guided.guide-links").read_text().splitlines()
    pairs = split.train[:300]
    gold = [
        GoldPair(tokenize(s, "fr"), tokenize(t, "en"), parse_pharaoh(line), parse_pharaoh(line))
        for (s, t), line in zip(pairs, cache[1:])
    ]
    rates = {}
    for name, translator in (("unguided", unguided), ("guided", guided)):
        attention = attention_by_word(translator, [(g.source, g.target) for g in gold])
        rates[name] = error_rate([argmax_links(a) for a in attention], gold)["aer"]
    print("AER against the guide:", rates)
    assert rates["guided"] < rates["unguided"] - 0.15


def test_gold_files_may_have_dots_in_their_name(tmp_path):
    import shutil

    for suffix in ("fr", "en", "talp"):
        shutil.copy(ALIBI / f"alibi.{suffix}", tmp_path / f"alibi.test.{suffix}")
    assert len(read_gold(tmp_path)) == 522
    (tmp_path / "alibi.test.en").unlink()
    with pytest.raises(ValueError, match="alibi.test.en: missing"):
        read_gold(tmp_path)


def test_a_word_without_pieces_gets_no_link():
    weights = np.array([[0.9, 0.0], [0.0, 0.0]])  # target word 1 normalised to nothing
    assert argmax_links(WordAttention(weights, np.array([0.1, 0.0]))) == {(0, 0)}


def test_a_target_word_without_pieces_has_no_weights_and_no_link(translator):
    (attention,) = attention_by_word(translator, [("Je suis content .".split(), ["I", "\u200b", "am", "happy", "."])])
    assert not attention.weights[1].any()
    assert all(j != 1 for _, j in argmax_links(attention))
    np.testing.assert_allclose(np.delete(attention.weights.sum(1) + attention.eos, 1), 1.0, atol=1e-4)
