"""Fetching the public corpora: the layout config.ini reads, built from archives like the real ones."""

import io
import subprocess
import sys
import tarfile
import zipfile

import pytest

from conftest import DATA, ROOT
from nmt.corpora import FILES, SHORT_SNAPSHOT_BYTES, fetch_corpora, missing_for_tests

# Real lines, more than the 4 MB of the short snapshot.
RELEASE = (DATA / "fra-eng-2019" / "fra.txt").read_bytes()[: 6 * 1024 * 1024]


KOREAN = "Hi.\t안녕.\tCC-BY\n".encode()


def _zip(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, content in files.items():
            archive.writestr(name, content)
    return buffer.getvalue()


def _tar_gz(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for name, content in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(content)
            archive.addfile(info, io.BytesIO(content))
    return buffer.getvalue()


def _fake_web(calls: list[str]):
    news = {
        part: {
            f"korean-english-park.{part}/korean-english-park.{part}.{lang}": f"{part} {lang}\n".encode()
            for lang in ("ko", "en")
        }
        for part in ("dev", "test")
    }
    pages = {
        "https://www.manythings.org/anki/fra-eng.zip": _zip({"fra.txt": RELEASE, "_about.txt": b"about fra"}),
        "https://www.manythings.org/anki/kor-eng.zip": _zip({"kor.txt": KOREAN, "_about.txt": b"k"}),
        **{f"{FILES[f'korean-english-news/korean-english-park.{p}.ko'][0]}": _tar_gz(news[p]) for p in news},
    }

    def fetch(url):
        calls.append(url)
        return pages[url]

    return fetch


def test_fetch_lays_out_the_folders_config_ini_reads_and_records_their_origin(tmp_path):
    calls = []
    written = fetch_corpora(tmp_path, _fake_web(calls), log=lambda message: None)
    assert sorted(written) == sorted(FILES) and len(calls) == 4, "each archive is downloaded once"
    assert (tmp_path / "fra-eng-2019" / "fra.txt").read_bytes() == RELEASE
    short = (tmp_path / "fra-eng" / "fra.txt").read_bytes()
    assert len(short) <= SHORT_SNAPSHOT_BYTES < len(RELEASE) and RELEASE.startswith(short) and short.endswith(b"\n")
    assert (tmp_path / "korean-english-news" / "korean-english-park.test.en").read_text() == "test en\n"
    assert (tmp_path / "kor-eng" / "kor.txt").read_text() == "Hi.\t안녕.\tCC-BY\n"
    record = (tmp_path / "FETCHED.md").read_text()
    assert all(f"`{name}`" in record for name in FILES) and "first 4 MB" in record
    assert missing_for_tests(tmp_path) == ["alignments/alibi/alibi.talp"]
    assert not list(tmp_path.rglob("*.partial"))


def test_fetch_keeps_what_is_there_and_a_failed_download_writes_nothing_half(tmp_path):
    (tmp_path / "kor-eng").mkdir()
    (tmp_path / "kor-eng" / "kor.txt").write_text("mine\n")
    calls = []
    fetch = _fake_web(calls)

    def failing(url):
        if "news" in url:
            raise OSError("network unreachable")
        return fetch(url)

    with pytest.raises(OSError, match="could not download .*news.*unreachable.*fetched so far are kept"):
        fetch_corpora(tmp_path, failing, log=lambda message: None)
    assert (tmp_path / "kor-eng" / "kor.txt").read_text() == "mine\n"
    assert not (tmp_path / "korean-english-news").exists() and not list(tmp_path.rglob("*.partial"))
    assert "`fra-eng-2019/fra.txt`" in (tmp_path / "FETCHED.md").read_text(), "what was written is recorded"
    written = fetch_corpora(tmp_path, fetch, log=lambda message: None)
    assert "kor-eng/kor.txt" not in written and "fra-eng/fra.txt" not in written
    assert (tmp_path / "korean-english-news" / "korean-english-park.dev.ko").read_text() == "dev ko\n"


def test_without_the_data_the_suite_stops_at_once_naming_what_is_missing_and_where_to_get_it(tmp_path):
    clone = tmp_path / "clone"
    (clone / "tests").mkdir(parents=True)
    for name in ("conftest.py", "test_corpora.py"):
        (clone / "tests" / name).write_text((ROOT / "tests" / name).read_text())
    (clone / "nmt").symlink_to(ROOT / "nmt")
    (clone / "bench").symlink_to(ROOT / "bench")
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests"],
        cwd=clone,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 4
    assert "lacks: fra-eng/fra.txt" in done.stdout and "python -m nmt fetch-data" in done.stdout
    assert "passed" not in done.stdout and "ERROR" not in done.stdout


def test_a_page_that_is_not_the_archive_is_refused_naming_its_url(tmp_path):
    with pytest.raises(ValueError, match="fra-eng.zip is not the archive expected"):
        fetch_corpora(tmp_path, lambda url: b"<html>Too many requests</html>", log=lambda message: None)
    assert not list(tmp_path.rglob("*.txt"))
