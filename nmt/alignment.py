"""Word alignments from attention, and how well they match human ones.

The model aligns subword pieces; people align words. :func:`attention_by_word` runs forced decoding of a
given translation and sums each target step's alignment weights over the pieces of each source word
(rows stay distributions), averaging over the pieces of each target word. Pieces belong to the
whitespace tokens of the given lines by SentencePiece's byte offsets, so pre-tokenized gold data
aligns to its own tokens, whatever the subword segmentation (elisions, punctuation, byte-fallback
pieces). Hard links are then extracted (:func:`argmax_links`), and scored by Alignment Error Rate
(Och & Ney 2003) against sure and possible links.
"""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import numpy as np

from nmt.data import normalize
from nmt.tokenizer import EOS_ID, Tokenizer

Links = set[tuple[int, int]]  # (source word i, target word j), 0-based


# --------------------------------------------------------------------------------------------------
# Pieces of words


def pieces_of_words(tokenizer: Tokenizer, words: list[str]) -> tuple[list[int], list[int]]:
    """Piece ids of the words joined by spaces, and for each piece the index of its word
    (:func:`piece_owners`). A word that normalises to nothing has no pieces."""
    normalised = [normalize(w).replace(" ", "") for w in words]
    spans, position = [], 0
    for word in normalised:
        size = len(word.encode("utf-8"))
        spans.append((position, position + size))
        position += size + 1
    ids, piece_spans = tokenizer.encode_with_offsets(" ".join(normalised))
    return ids, piece_owners(piece_spans, spans)


def piece_owners(piece_spans, word_spans) -> list[int]:
    """For each piece span (begin, end), the index of the word span it belongs to (UTF-8 byte offsets
    into one text, words in order, not overlapping).

    A piece belongs to the word that holds the first byte of its surface that is not a space; a
    piece whose surface is only a space or empty (a lone ``▁``, the first byte pieces of a
    byte-fallback character) belongs to the word that follows it.
    """
    owners = []
    for begin, end in piece_spans:
        owner = next(
            (k for k, (s, e) in enumerate(word_spans) if s < e and e > begin and s < max(end, begin + 1)), None
        )
        if owner is None:
            owner = next((k for k, (s, e) in enumerate(word_spans) if s < e and s >= begin), len(word_spans) - 1)
        owners.append(owner)
    return owners


def _by_word(attention: np.ndarray, source_owners, target_owners, n_source: int, n_target: int):
    """Piece attention (T + 1, S + 1) with eos last on both axes → word attention (n_target,
    n_source) and the weight each target word gives the source eos (n_target,)."""
    by_source = np.zeros((attention.shape[0], n_source + 1))
    np.add.at(by_source.T, list(source_owners) + [n_source], attention.T)
    words = np.zeros((n_target, n_source + 1))
    counts = np.zeros(n_target)
    np.add.at(words, list(target_owners), by_source[: len(target_owners)])
    np.add.at(counts, list(target_owners), 1)
    words[counts > 0] /= counts[counts > 0, None]
    return words[:, :n_source], words[:, n_source]


@dataclasses.dataclass
class WordAttention:
    """Alignment weights between the words of one sentence pair under forced decoding."""

    weights: np.ndarray  # (target words, source words): each row sums to 1 with `eos`
    eos: np.ndarray  # (target words,): weight on the source's end-of-sentence


def attention_by_word(translator, pairs: list[tuple[list[str], list[str]]], batch_size: int = 32):
    """Forced decoding of each (source words, target words) pair → one :class:`WordAttention` each."""
    results = []
    for start in range(0, len(pairs), batch_size):
        batch = pairs[start : start + batch_size]
        sources, targets, owners = [], [], []
        for source_words, target_words in batch:
            source_ids, source_owners = pieces_of_words(translator.source_tokenizer, source_words)
            target_ids, target_owners = pieces_of_words(translator.target_tokenizer, target_words)
            limit = translator.max_source_pieces
            sources.append(source_ids[:limit] + [EOS_ID])
            targets.append(target_ids + [EOS_ID])
            owners.append((source_owners[:limit], target_owners))
        for (source_words, target_words), (source_owners, target_owners), (_, attention) in zip(
            batch, owners, translator.searcher.force(sources, targets)
        ):
            weights, eos = _by_word(attention, source_owners, target_owners, len(source_words), len(target_words))
            results.append(WordAttention(weights, eos))
    return results


# --------------------------------------------------------------------------------------------------
# Hard links


def argmax_links(attention: WordAttention) -> Links:
    """Each target word → the source word of most weight (the source eos left out). Thresholds, the
    step that reads the word and dropping words that look at eos most were measured and did not help
    (docs/experiments.md)."""
    links = set()
    for j, row in enumerate(attention.weights):
        # A row of zeros is a word without pieces (it normalised to nothing): it has no link.
        if row.size and row.sum() > 0:
            links.add((int(row.argmax()), j))
    return links


def diagonal(n_source: int, n_target: int) -> Links:
    """The baseline that knows only lengths: target word j goes with source word (j + ½)·|f|/|e|."""
    return (
        {(min(n_source - 1, int((j + 0.5) * n_source / n_target)), j) for j in range(n_target)} if n_source else set()
    )


def pharaoh(links: Links) -> str:
    """Links as a Pharaoh line ``i-j i-j ...``, sorted by target word."""
    return " ".join(f"{i}-{j}" for i, j in sorted(links, key=lambda link: (link[1], link[0])))


def parse_pharaoh(line: str, possible: bool = False) -> Links:
    """Links of a Pharaoh or TALP line (``i-j`` sure, ``i?j`` possible); `possible` selects which."""
    links = set()
    for link in line.split():
        marker = "?" if "?" in link else "-"
        if (marker == "?") == possible:
            i, j = link.split(marker)
            links.add((int(i), int(j)))
    return links


# --------------------------------------------------------------------------------------------------
# Gold alignments and their error rate


@dataclasses.dataclass
class GoldPair:
    source: list[str]
    target: list[str]
    sure: Links
    possible: Links  # sure links included, as in Och & Ney (2003)


def read_gold(directory, source_lang: str = "fr", target_lang: str = "en") -> list[GoldPair]:
    """The one ``X.<source>``, ``X.<target>``, ``X.talp`` triple in `directory`: tokenized sentences,
    one a line, and their links (source index first, ``i-j`` sure, ``i?j`` possible)."""
    directory = Path(directory)
    talp = sorted(directory.glob("*.talp"))
    if len(talp) != 1:
        raise ValueError(f"{directory}: expected one .talp file, found {len(talp)}")
    prefix = talp[0].name[: -len(".talp")]  # may hold dots of its own: hansards.test.talp
    columns = []
    for suffix in (source_lang, target_lang, "talp"):
        path = directory / f"{prefix}.{suffix}"
        if not path.is_file():
            raise ValueError(f"{path}: missing (gold data is X.{source_lang}, X.{target_lang} and X.talp)")
        columns.append(path.read_text(encoding="utf-8").splitlines())
    if len({len(c) for c in columns}) != 1:
        raise ValueError(f"{directory / prefix}.*: the three files must have the same number of lines")
    gold = []
    for number, (source, target, links) in enumerate(zip(*columns), 1):
        pair = GoldPair(source.split(), target.split(), parse_pharaoh(links), parse_pharaoh(links, possible=True))
        pair.possible |= pair.sure
        if any(i >= len(pair.source) or j >= len(pair.target) for i, j in pair.possible):
            raise ValueError(f"{talp[0]}:{number}: a link points past the end of its sentence")
        gold.append(pair)
    return gold


def error_rate(predicted: list[Links], gold: list[GoldPair]) -> dict:
    """AER = 1 − (|A∩S| + |A∩P|) / (|A| + |S|), precision |A∩P| / |A| and recall |A∩S| / |S|, over
    the whole set (Och & Ney 2003)."""
    a = s = a_and_s = a_and_p = 0
    for links, pair in zip(predicted, gold, strict=True):
        a, s = a + len(links), s + len(pair.sure)
        a_and_s += len(links & pair.sure)
        a_and_p += len(links & pair.possible)
    return {
        "aer": round(1 - (a_and_s + a_and_p) / max(a + s, 1), 4),
        "precision": round(a_and_p / max(a, 1), 4),
        "recall": round(a_and_s / max(s, 1), 4),
        "links": a,
    }


# --------------------------------------------------------------------------------------------------
# A statistical aligner to compare with: eflomal


_WORDS = {
    "fr": re.compile(r"\w+['’]|\w+(?:-\w+)*|[^\w\s]"),  # l'homme → l' homme, as French gold data splits it
    "en": re.compile(r"\w+|['’]\w+|[^\w\s]"),  # don't → don 't
}


def tokenize(text: str, lang: str) -> list[str]:
    """Words and punctuation of plain text, split as tokenized alignment data splits them."""
    return _WORDS.get(lang, _WORDS["en"]).findall(normalize(text))


def _word_byte_spans(normalised: str, lang: str) -> list[tuple[int, int]]:
    """The UTF-8 byte spans of :func:`tokenize`'s words in already-normalised text."""
    spans = []
    for word in _WORDS.get(lang, _WORDS["en"]).finditer(normalised):
        start = len(normalised[: word.start()].encode("utf-8"))
        spans.append((start, start + len(word[0].encode("utf-8"))))
    return spans


def piece_links(tokenizers, pair: tuple[str, str], langs: tuple[str, str], links: Links) -> list[tuple[int, int]]:
    """Word links of a plain-text pair (over :func:`tokenize`'s words) → (target piece t, source piece
    s) links over the pieces that ``Tokenizer.encode`` gives each side, which training uses."""
    owners = []
    for tokenizer, text, lang in zip(tokenizers, pair, langs):
        normalised = normalize(text)
        _, spans = tokenizer.encode_with_offsets(normalised)
        owners.append(piece_owners(spans, _word_byte_spans(normalised, lang)))
    source_owners, target_owners = owners
    pieces_of_source_word: dict[int, list[int]] = {}
    for s, owner in enumerate(source_owners):
        pieces_of_source_word.setdefault(owner, []).append(s)
    source_words_of_target_word: dict[int, list[int]] = {}
    for i, j in sorted(links):
        source_words_of_target_word.setdefault(j, []).append(i)
    return [
        (t, s)
        for t, j in enumerate(target_owners)
        for i in source_words_of_target_word.get(j, [])
        for s in pieces_of_source_word.get(i, [])
    ]


def guide_alignments(pairs, langs: tuple[str, str], cache: Path) -> list[Links]:
    """eflomal's word alignments of plain-text pairs, the targets of guided alignment: computed once
    and kept in `cache` (Pharaoh lines after a digest of the pairs, so other pairs recompute)."""
    import hashlib

    digest = hashlib.sha256("\n".join(f"{s}\t{t}" for s, t in pairs).encode("utf-8")).hexdigest()
    if cache.is_file():
        lines = cache.read_text(encoding="utf-8").splitlines()
        if lines and lines[0] == f"# {digest}" and len(lines) == len(pairs) + 1:
            return [parse_pharaoh(line) for line in lines[1:]]
    sources = [tokenize(s, langs[0]) for s, _ in pairs]
    targets = [tokenize(t, langs[1]) for _, t in pairs]
    links = eflomal_links(sources, targets)
    staging = cache.with_name(cache.name + ".partial")
    staging.write_text("\n".join([f"# {digest}", *map(pharaoh, links)]) + "\n", encoding="utf-8")
    staging.replace(cache)
    return links


def eflomal_links(sources: list[list[str]], targets: list[list[str]]) -> list[Links]:
    """Links of every pair by eflomal (Östling & Tiedemann 2016), both directions symmetrised by
    grow-diag-final-and. Unsupervised: give it the sentences to align among as many others as there are."""
    import tempfile

    import eflomal

    with tempfile.TemporaryDirectory() as folder:
        forward, reverse = Path(folder) / "forward", Path(folder) / "reverse"
        eflomal.Aligner().align(
            [" ".join(s) for s in sources],
            [" ".join(t) for t in targets],
            links_filename_fwd=str(forward),
            links_filename_rev=str(reverse),
            quiet=True,
        )
        forward_lines = forward.read_text().splitlines()
        reverse_lines = reverse.read_text().splitlines()
    return [
        grow_diag_final_and(parse_pharaoh(f), parse_pharaoh(r), len(s), len(t))
        for f, r, s, t in zip(forward_lines, reverse_lines, sources, targets, strict=True)
    ]


def grow_diag_final_and(forward: Links, reverse: Links, n_source: int, n_target: int) -> Links:
    """Koehn et al. (2003)'s symmetrisation: start from the intersection, grow into neighbouring
    union links that cover an unaligned word, then add union links joining two unaligned words."""
    union, links = forward | reverse, forward & reverse
    neighbours = [(-1, 0), (0, -1), (1, 0), (0, 1), (-1, -1), (-1, 1), (1, -1), (1, 1)]
    source_aligned, target_aligned = {i for i, _ in links}, {j for _, j in links}

    def add(link):
        links.add(link)
        source_aligned.add(link[0])
        target_aligned.add(link[1])

    grown = True
    while grown:
        grown = False
        for i, j in sorted(links):
            for di, dj in neighbours:
                link = (i + di, j + dj)
                if (
                    link in union
                    and link not in links
                    and (link[0] not in source_aligned or link[1] not in target_aligned)
                ):
                    add(link)
                    grown = True
    for directed in (forward, reverse):
        for i, j in sorted(directed):
            if i not in source_aligned and j not in target_aligned:
                add((i, j))
    return {(i, j) for i, j in links if i < n_source and j < n_target}
