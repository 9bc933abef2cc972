"""The public corpora, fetched and laid out as ``config.ini`` and the tests read them.

``python -m nmt fetch-data DIR`` (``DIR`` is ``../shared/data`` beside a clone) downloads the
Tatoeba pairs that manythings.org/anki packages and the Korean–English news corpus from its GitHub
repository, and writes::

    DIR/fra-eng-2019/fra.txt      French–English, the whole release (config.ini's [fr-en])
    DIR/fra-eng/fra.txt           its first 4 MB (short sentences: the small, fast corpus of the tests)
    DIR/kor-eng/kor.txt           Korean–English ([ko-en])
    DIR/korean-english-news/korean-english-park.{dev,test}.{ko,en}
    DIR/FETCHED.md                where each file came from, when, and its SHA-256

manythings publishes only its newest release, so a fetch gets more and other pairs than the fixed
snapshots behind the shipped scores (README, Data); the folder names stay those ``config.ini`` reads.
Files already there are kept, so a fetch never overwrites data; each is written whole or not at all.
"""

from __future__ import annotations

import datetime
import hashlib
import io
import tarfile
import zipfile
from collections.abc import Callable
from pathlib import Path

MANYTHINGS = "https://www.manythings.org/anki"
NEWS = "https://raw.githubusercontent.com/jungyeul/korean-parallel-corpora/master/korean-english-news-v1"
# The older fr-en snapshot was the first 4 MB of a release that lists short sentences first.
SHORT_SNAPSHOT_BYTES = 4 * 1024 * 1024

# Destination → (archive URL, file name inside the archive, bytes kept from its start or None).
FILES = {
    "fra-eng-2019/fra.txt": (f"{MANYTHINGS}/fra-eng.zip", "fra.txt", None),
    "fra-eng-2019/_about.txt": (f"{MANYTHINGS}/fra-eng.zip", "_about.txt", None),
    "fra-eng/fra.txt": (f"{MANYTHINGS}/fra-eng.zip", "fra.txt", SHORT_SNAPSHOT_BYTES),
    "kor-eng/kor.txt": (f"{MANYTHINGS}/kor-eng.zip", "kor.txt", None),
    "kor-eng/_about.txt": (f"{MANYTHINGS}/kor-eng.zip", "_about.txt", None),
    **{
        f"korean-english-news/korean-english-park.{part}.{lang}": (
            f"{NEWS}/korean-english-park.{part}.tar.gz",
            f"korean-english-park.{part}.{lang}",
            None,
        )
        for part in ("dev", "test")
        for lang in ("ko", "en")
    },
}
# What the test suite reads (the alignment set has no download: see README, Data).
NEEDED_BY_TESTS = (
    "fra-eng/fra.txt",
    "fra-eng-2019/fra.txt",
    "kor-eng/kor.txt",
    "korean-english-news/korean-english-park.dev.ko",
    "korean-english-news/korean-english-park.dev.en",
    "alignments/alibi/alibi.talp",
)


def download(url: str) -> bytes:
    """The body of `url`; manythings.org refuses clients that do not name themselves."""
    import urllib.request

    request = urllib.request.Request(url, headers={"User-Agent": "nmt-attention-explorer (python urllib)"})
    with urllib.request.urlopen(request, timeout=120) as response:
        return response.read()


def member(archive: bytes, name: str) -> bytes:
    """The file called `name` (in any folder) of a zip or gzipped tar archive."""
    if archive[:2] == b"PK":
        with zipfile.ZipFile(io.BytesIO(archive)) as zipped:
            found = [n for n in zipped.namelist() if n.rsplit("/", 1)[-1] == name]
            if found:
                return zipped.read(found[0])
    else:
        with tarfile.open(fileobj=io.BytesIO(archive), mode="r:gz") as tarred:
            found = [m for m in tarred.getmembers() if m.isfile() and m.name.rsplit("/", 1)[-1] == name]
            if found:
                return tarred.extractfile(found[0]).read()
    raise ValueError(f"the archive has no file {name}")


def first_lines(text: bytes, limit: int) -> bytes:
    """The whole lines within the first `limit` bytes."""
    if len(text) <= limit:
        return text
    end = text.rfind(b"\n", 0, limit)
    if end < 0:
        raise ValueError(f"no line ends within the first {limit} bytes: not a line-per-pair corpus")
    return text[: end + 1]


def fetch_corpora(folder: Path, fetch: Callable[[str], bytes] = download, log=print) -> list[str]:
    """Downloads what is missing under `folder` (see the module's docstring); returns the files written."""
    archives: dict[str, bytes] = {}
    written: list[str] = []
    try:
        _fetch_missing(folder, fetch, log, archives, written)
    finally:
        if written:  # also when a later download failed: what was written is recorded
            _record(folder, written)
    return written


def _fetch_missing(folder: Path, fetch, log, archives: dict, written: list) -> None:
    """Writes each missing file of FILES, adding its destination to `written` as soon as it is whole."""
    for destination, (url, name, limit) in FILES.items():
        path = folder / destination
        if path.exists():
            log(f"{path}: already there, kept")
            continue
        if url not in archives:
            log(f"downloading {url}")
            try:
                archives[url] = fetch(url)
            except OSError as error:
                raise OSError(f"could not download {url} ({error}); files fetched so far are kept") from None
        try:
            content = member(archives[url], name)
        except (zipfile.BadZipFile, tarfile.TarError, EOFError) as error:
            raise ValueError(f"{url} is not the archive expected ({error})") from None
        content = first_lines(content, limit) if limit else content
        path.parent.mkdir(parents=True, exist_ok=True)
        staging = path.with_name(path.name + ".partial")
        staging.write_bytes(content)
        staging.replace(path)
        written.append(destination)
        lines = content.count(b"\n")
        log(f"{path}: {lines:,} lines")


def _record(folder: Path, written: list[str]) -> None:
    """Appends to FETCHED.md the source, date and SHA-256 of every file just written."""
    today = datetime.date.today().isoformat()
    lines = [f"\n## Fetched {today} by `python -m nmt fetch-data`\n", "| file | from | SHA-256 |", "|---|---|---|"]
    for destination in written:
        digest = hashlib.sha256((folder / destination).read_bytes()).hexdigest()
        url, name, limit = FILES[destination]
        origin = f"{url} ({name}{', first 4 MB' if limit else ''})"
        lines.append(f"| `{destination}` | {origin} | `{digest}` |")
    with open(folder / "FETCHED.md", "a", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")


def missing_for_tests(folder: Path) -> list[str]:
    """The files of :data:`NEEDED_BY_TESTS` that `folder` lacks."""
    return [name for name in NEEDED_BY_TESTS if not (folder / name).is_file()]
