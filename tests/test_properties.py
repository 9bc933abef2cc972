"""Property-based tests (Hypothesis) of what shapes what users see: on generated piece sequences with
byte-fallback pieces, lone word marks, <unk>, </s> and empty pieces, merged rows stay distributions,
indices stay in range and nothing raises."""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from nmt.analysis import coverage, entropy, merge_pieces, pharaoh, split_sentences
from nmt.data import normalize

PIECE = st.one_of(
    st.sampled_from(["▁", "<unk>", "</s>", "<0xE2>", "<0x80>", "▁<0xC3>", "", "'", ".", "▁l", "▁homme", "s", "▁▁"]),
    st.text(alphabet="▁abcéà'-.😀가", min_size=1, max_size=4),
)
settings.register_profile("project", max_examples=150, deadline=None)
settings.load_profile("project")


@st.composite
def pieces_and_attention(draw):
    source = draw(st.lists(PIECE, min_size=1, max_size=12))
    target = draw(st.lists(PIECE, min_size=1, max_size=12))
    weights = draw(
        st.lists(
            st.lists(st.floats(0.0, 1.0), min_size=len(source), max_size=len(source)),
            min_size=len(target),
            max_size=len(target),
        )
    )
    attention = np.asarray(weights) + 1e-6
    return source, target, attention / attention.sum(1, keepdims=True)


@given(pieces_and_attention())
def test_merged_rows_stay_distributions_over_words(case):
    source, target, attention = case
    source_words, target_words, merged = merge_pieces(source, target, attention)
    assert merged.shape == (len(target_words), len(source_words))
    assert 1 <= len(source_words) <= len(source) and 1 <= len(target_words) <= len(target)
    np.testing.assert_allclose(merged.sum(1), 1.0, atol=1e-9)
    assert (merged >= 0).all()
    assert all(isinstance(w, str) and w for w in source_words + target_words), "no word shows as empty"


@given(pieces_and_attention())
def test_pharaoh_links_stay_in_range_one_per_target_word(case):
    source, target, attention = case
    source_words, target_words, _ = merge_pieces(source, target, attention)
    links = [tuple(map(int, link.split("-"))) for link in pharaoh(source, target, attention).split()]
    assert all(0 <= i < len(source_words) and 0 <= j < len(target_words) for i, j in links)
    assert len({j for _, j in links}) == len(links), "each target word is linked at most once"
    assert all(source_words[i] != "</s>" and target_words[j] != "</s>" for i, j in links)


@given(pieces_and_attention())
def test_coverage_and_entropy_are_bounded(case):
    source, _, attention = case
    result = coverage(attention)
    assert len(result["totals"]) == len(source)
    assert abs(sum(result["totals"]) - attention.shape[0]) < 1e-3, "every step hands out a weight of 1"
    assert set(result["unattended"]).isdisjoint(result["over_attended"])
    assert all(0 <= i < len(source) for i in result["unattended"] + result["over_attended"])
    values = entropy(attention)
    assert len(values) == attention.shape[0]
    assert all(-1e-6 <= h <= np.log(len(source)) + 1e-3 for h in values)


TEXT = st.lists(st.sampled_from(list("ab ÉM.!?…«»\"'\n\t가나\u200b\x00") + ["M. ", "! » ", ".\u00a0"])).map("".join)


@given(TEXT)
def test_split_sentences_gives_normalised_non_empty_sentences_that_keep_the_text(text):
    sentences = split_sentences(text)
    assert all(s and s == normalize(s) for s in sentences)
    assert "".join(sentences).replace(" ", "") == normalize(text).replace(" ", "")


@given(st.text())
def test_normalize_is_idempotent_and_drops_control_characters(text):
    once = normalize(text)
    assert normalize(once) == once
    assert not any(ch in once for ch in "\x00\u200b\u202e\t\n")
