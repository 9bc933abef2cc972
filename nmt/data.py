"""Parallel corpora: readers, the one text normalisation, and the held-out split.

Every reader yields ``(source, target)`` pairs of normalised text, one at a time (a corpus need not fit
in memory), and counts what it skipped (malformed, empty or over-long lines) in a :class:`ReadReport`,
so a bad line never crashes a run.
"""

from __future__ import annotations

import dataclasses
import hashlib
import heapq
import itertools
import random
import re
import unicodedata
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

Pair = tuple[str, str]  # (source, target)

_SPACES = re.compile(r"\s+")
_TRAILING_PUNCTUATION = re.compile(r"[\s.!?。…]+$")


def normalize(text: str) -> str:
    """The single text normalisation used for training data and for user input alike.

    Unicode NFKC folds compatibility forms (full-width letters, ligatures); control and format
    characters (NUL, zero-width spaces, bidirectional overrides) are dropped because they carry no
    meaning for translation and would otherwise become unknown pieces; runs of whitespace become
    one space.
    """
    text = unicodedata.normalize("NFKC", text)
    text = "".join(ch for ch in text if ch.isspace() or unicodedata.category(ch) not in ("Cc", "Cf"))
    return _SPACES.sub(" ", text).strip()


@dataclasses.dataclass
class ReadReport:
    """What a reader kept and what it skipped, by reason."""

    kept: int = 0
    skipped: Counter = dataclasses.field(default_factory=Counter)

    def __str__(self) -> str:
        skipped = ", ".join(f"{count} {reason}" for reason, count in sorted(self.skipped.items())) or "none"
        return f"kept {self.kept} pairs; skipped: {skipped}"


def _accept(source: str, target: str, max_chars: int, report: ReadReport) -> tuple[str, str] | None:
    source, target = normalize(source), normalize(target)
    if not source or not target:
        report.skipped["empty"] += 1
        return None
    if len(source) > max_chars or len(target) > max_chars:
        report.skipped["over-long"] += 1
        return None
    report.kept += 1
    return source, target


def read_tsv(path, source_column: int, target_column: int, max_chars: int, report: ReadReport) -> Iterator[Pair]:
    """Reads a tab-separated file; columns are 0-based. Lines with too few columns count as malformed."""
    needed = max(source_column, target_column) + 1
    with open(path, encoding="utf-8", errors="replace") as lines:
        for line in lines:
            fields = line.rstrip("\n").split("\t")
            if len(fields) < needed:
                report.skipped["malformed"] += 1
                continue
            pair = _accept(fields[source_column], fields[target_column], max_chars, report)
            if pair:
                yield pair


def read_tatoeba(path, source_lang: str, max_chars: int, report: ReadReport) -> Iterator[Pair]:
    """Reads the manythings/Tatoeba layout ``English<TAB>other[<TAB>attribution]``.

    English is always column 0, so translating *from* English reads column 0 as the source and
    translating *into* English reads column 1.
    """
    if source_lang == "en":
        return read_tsv(path, 0, 1, max_chars, report)
    return read_tsv(path, 1, 0, max_chars, report)


def read_parallel_files(source_path, target_path, max_chars: int, report: ReadReport) -> Iterator[Pair]:
    """Reads two line-aligned files (``X.ko`` and ``X.en``): line *i* of one translates line *i* of the
    other. Files of different lengths raise ValueError, before any pair is read."""
    counts = [_count_lines(path) for path in (source_path, target_path)]
    if counts[0] != counts[1]:
        raise ValueError(
            f"{source_path} has {counts[0]} lines but {target_path} has {counts[1]}: "
            "line-aligned files must have the same number of lines"
        )
    with (
        open(source_path, encoding="utf-8", errors="replace") as sources,
        open(target_path, encoding="utf-8", errors="replace") as targets,
    ):
        for source, target in zip(sources, targets):
            if pair := _accept(source, target, max_chars, report):
                yield pair


def _count_lines(path) -> int:
    with open(path, encoding="utf-8", errors="replace") as lines:
        return sum(1 for _ in lines)


def read_xlsx(path, max_chars: int, report: ReadReport) -> Iterator[Pair]:
    """Reads an AI-Hub style spreadsheet: header columns ``원문`` (source) and ``번역문`` (translation)."""
    import openpyxl

    workbook = openpyxl.load_workbook(path, read_only=True, data_only=True)
    try:
        rows = workbook.active.iter_rows(values_only=True)
        header = [str(cell).strip() if cell is not None else "" for cell in next(rows, ())]
        if "원문" not in header or "번역문" not in header:
            raise ValueError(f"{path}: the first row must name the columns 원문 and 번역문, found {header}")
        source_column, target_column = header.index("원문"), header.index("번역문")
        for row in rows:
            if len(row) <= max(source_column, target_column):
                report.skipped["malformed"] += 1
                continue
            source, target = row[source_column], row[target_column]
            source, target = "" if source is None else str(source), "" if target is None else str(target)
            if pair := _accept(source, target, max_chars, report):
                yield pair
    finally:
        workbook.close()


def read_corpus(spec: str, source_lang: str, target_lang: str, max_chars: int, report: ReadReport) -> Iterator[Pair]:
    """Reads one corpus named by ``spec``, choosing the reader from its form.

    - ``X.xlsx``: AI-Hub spreadsheet;
    - ``X.tsv:S:T``: plain TSV, source column S and target column T (0-based);
    - ``PREFIX`` where ``PREFIX.<src>`` and ``PREFIX.<tgt>`` exist: line-aligned files;
    - anything else: the manythings/Tatoeba TSV layout.
    """
    path, *columns = spec.split(":")
    if columns:
        if len(columns) != 2 or not all(c.isdigit() for c in columns):
            raise ValueError(f"{spec!r}: a TSV with chosen columns is written FILE:SOURCE_COLUMN:TARGET_COLUMN")
        return read_tsv(path, int(columns[0]), int(columns[1]), max_chars, report)
    if path.endswith(".xlsx"):
        return read_xlsx(path, max_chars, report)
    source_file, target_file = Path(f"{path}.{source_lang}"), Path(f"{path}.{target_lang}")
    if source_file.exists() and target_file.exists():
        return read_parallel_files(source_file, target_file, max_chars, report)
    if not Path(path).is_file():
        raise FileNotFoundError(f"{path}: no such corpus file (nor {source_file} + {target_file})")
    return read_tatoeba(path, source_lang, max_chars, report)


def english_group(pair: tuple[str, str], english_side: int) -> str:
    """The key that groups near-copies: the English sentence, case-folded, without final punctuation."""
    return _TRAILING_PUNCTUATION.sub("", pair[english_side].casefold())


@dataclasses.dataclass
class Split:
    train: list
    valid: list
    test: list


def split_by_english(pairs, english_side: int, valid_size: int, test_size: int, seed: int) -> Split:
    """Splits pairs so that all pairs sharing an English sentence fall on one side, and the held-out
    sets hold one pair per English sentence.

    Groups (pairs with one English sentence, :func:`english_group`) are shuffled with ``seed`` and
    dealt one each to test, then validation, until each holds its size; everything else trains. A
    held-out group contributes one of its pairs, chosen with the same seed, and the rest of it is
    not used: near-copies neither leak from training into the held-out sets nor count several times
    in a score.
    """
    groups: dict[str, list] = {}
    for pair in pairs:
        groups.setdefault(english_group(pair, english_side), []).append(pair)
    keys = sorted(groups)
    rng = random.Random(seed)
    rng.shuffle(keys)
    test = [rng.choice(groups[key]) for key in keys[:test_size]]
    valid = [rng.choice(groups[key]) for key in keys[test_size : test_size + valid_size]]
    train = [pair for key in keys[test_size + valid_size :] for pair in groups[key]]
    return Split(train=train, valid=valid, test=test)


def _hash(seed: int, text: str) -> int:
    """A hash that is the same in every process (Python's hash() of a str is not)."""
    return int.from_bytes(hashlib.blake2b(f"{seed}\0{text}".encode(), digest_size=8).digest(), "big")


def held_out_of_stream(pairs, english_side: int, valid_size: int, test_size: int, seed: int) -> tuple[list, list]:
    """(valid, test) of a corpus read once as a stream, with memory for the held-out pairs only.

    The held-out English groups are the ``valid_size + test_size`` with the smallest hash (bottom-k
    sampling: a uniform sample of the distinct groups, in one pass); the smallest-hashed of them go to
    test. Each contributes the pair with the smallest hash, as :func:`split_by_english` contributes one.
    """
    size = valid_size + test_size
    heap: list[tuple[int, str]] = []  # (-group hash, group): the `size` smallest hashes so far
    chosen: dict[str, tuple[int, Pair]] = {}  # group → (pair hash, pair) of the groups in the heap
    for pair in pairs:
        group = english_group(pair, english_side)
        rank = _hash(seed, group)
        if group not in chosen:
            if len(heap) == size and -heap[0][0] <= rank:
                continue
            if len(heap) == size:
                del chosen[heapq.heappop(heap)[1]]
            heapq.heappush(heap, (-rank, group))
            chosen[group] = (_hash(seed, "\t".join(pair)), pair)
        elif (pair_rank := _hash(seed, "\t".join(pair))) < chosen[group][0]:
            chosen[group] = (pair_rank, pair)
    ordered = [chosen[group][1] for _, group in sorted(heap, reverse=True)]
    return ordered[test_size:], ordered[:test_size]


def uniform_sample(items, size: int, seed: int) -> tuple[list, int]:
    """At most `size` of `items`, each kept with the same probability, in one pass with memory for the
    sample alone (reservoir sampling, Vitter's algorithm R), and how many items there were. All of
    them, in order, when there are no more than `size`."""
    rng, sample, count = random.Random(seed), [], 0
    for count, item in enumerate(items, 1):
        if count <= size:
            sample.append(item)
        elif (slot := rng.randrange(count)) < size:
            sample[slot] = item
    return sample, count


class PairStream:
    """The pairs of some corpora, read anew on every pass and never all held in memory, less those
    whose English group (:func:`english_group`) is held out. A complete pass records what each corpus
    kept and skipped (`reports`) and how many pairs it yielded (`pairs_per_pass`)."""

    def __init__(self, specs: list[str], langs: tuple[str, str], max_chars: int, english_side: int, held_out=()):
        self.specs, self.langs, self.max_chars = specs, langs, max_chars
        self.english_side, self.held_out = english_side, set(held_out)
        self.reports: dict[str, ReadReport] = {}
        self.pairs_per_pass: int | None = None
        self.dropped = 0  # pairs of a pass whose English sentence is held out

    def __iter__(self) -> Iterator[Pair]:
        count = dropped = 0
        for spec in self.specs:
            report = ReadReport()
            for pair in read_corpus(spec, *self.langs, self.max_chars, report):
                if english_group(pair, self.english_side) in self.held_out:
                    dropped += 1
                    continue
                count += 1
                yield pair
            self.reports[spec] = report
        self.pairs_per_pass, self.dropped = count, dropped

    def chunks(self, first: int, size: int) -> Iterator[list[Pair]]:
        """Chunk `first` of `size` pairs of the stream read pass after pass, then the chunks after it,
        reading on (the pairs before chunk `first` are skipped once, not encoded). Counts a pass
        first if none is complete yet."""
        if self.pairs_per_pass is None:
            for _ in self:
                pass
        if not self.pairs_per_pass:
            raise ValueError("no training pairs in the stream")
        pairs, skipped = self._pass_after_pass(), first * size % self.pairs_per_pass
        next(itertools.islice(pairs, skipped, skipped), None)  # reads past the first `skipped` pairs
        while True:
            yield list(itertools.islice(pairs, size))

    def _pass_after_pass(self) -> Iterator[Pair]:
        while True:
            empty = True
            for pair in self:
                empty = False
                yield pair
            if empty:
                raise ValueError(f"{', '.join(self.specs)}: the training corpora hold no pairs any more")
