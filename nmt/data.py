"""Parallel corpora: readers, the one text normalisation, and the held-out split.

Every reader yields ``(source, target)`` pairs of normalised text and counts what it skipped
(malformed, empty or over-long lines) in a :class:`ReadReport`, so a bad line never crashes a run.
"""

from __future__ import annotations

import dataclasses
import random
import re
import unicodedata
from collections import Counter
from pathlib import Path

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


def read_tsv(path, source_column: int, target_column: int, max_chars: int, report: ReadReport) -> list[tuple[str, str]]:
    """Reads a tab-separated file; columns are 0-based. Lines with too few columns count as malformed."""
    pairs = []
    needed = max(source_column, target_column) + 1
    with open(path, encoding="utf-8", errors="replace") as lines:
        for line in lines:
            fields = line.rstrip("\n").split("\t")
            if len(fields) < needed:
                report.skipped["malformed"] += 1
                continue
            pair = _accept(fields[source_column], fields[target_column], max_chars, report)
            if pair:
                pairs.append(pair)
    return pairs


def read_tatoeba(path, source_lang: str, max_chars: int, report: ReadReport) -> list[tuple[str, str]]:
    """Reads the manythings/Tatoeba layout ``English<TAB>other[<TAB>attribution]``.

    English is always column 0, so translating *from* English reads column 0 as the source and
    translating *into* English reads column 1.
    """
    if source_lang == "en":
        return read_tsv(path, 0, 1, max_chars, report)
    return read_tsv(path, 1, 0, max_chars, report)


def read_parallel_files(source_path, target_path, max_chars: int, report: ReadReport) -> list[tuple[str, str]]:
    """Reads two line-aligned files (``X.ko`` and ``X.en``): line *i* of one translates line *i* of the other."""
    source_lines = Path(source_path).read_text(encoding="utf-8", errors="replace").splitlines()
    target_lines = Path(target_path).read_text(encoding="utf-8", errors="replace").splitlines()
    if len(source_lines) != len(target_lines):
        raise ValueError(
            f"{source_path} has {len(source_lines)} lines but {target_path} has {len(target_lines)}: "
            "line-aligned files must have the same number of lines"
        )
    return [pair for s, t in zip(source_lines, target_lines) if (pair := _accept(s, t, max_chars, report))]


def read_xlsx(path, max_chars: int, report: ReadReport) -> list[tuple[str, str]]:
    """Reads an AI-Hub style spreadsheet: header columns ``원문`` (source) and ``번역문`` (translation)."""
    import openpyxl

    workbook = openpyxl.load_workbook(path, read_only=True, data_only=True)
    rows = workbook.active.iter_rows(values_only=True)
    header = [str(cell).strip() if cell is not None else "" for cell in next(rows, ())]
    if "원문" not in header or "번역문" not in header:
        raise ValueError(f"{path}: the first row must name the columns 원문 and 번역문, found {header}")
    source_column, target_column = header.index("원문"), header.index("번역문")
    pairs = []
    for row in rows:
        if len(row) <= max(source_column, target_column):
            report.skipped["malformed"] += 1
            continue
        source, target = row[source_column], row[target_column]
        pair = _accept("" if source is None else str(source), "" if target is None else str(target), max_chars, report)
        if pair:
            pairs.append(pair)
    workbook.close()
    return pairs


def read_corpus(spec: str, source_lang: str, target_lang: str, max_chars: int, report: ReadReport):
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
