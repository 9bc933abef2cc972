"""Shared fixtures: real data from ../shared/data and one small checkpoint trained on it once per run."""

import contextlib
import os
from pathlib import Path

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import pytest  # noqa: E402

from bench.app_start import free_port  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"
FRA = DATA / "fra-eng" / "fra.txt"
KOR = DATA / "kor-eng" / "kor.txt"
NEWS = DATA / "korean-english-news" / "korean-english-park.dev"


def pytest_sessionstart(session):
    """Without the data every test reads, stop at once with one message instead of hundreds of errors."""
    from nmt.corpora import missing_for_tests

    missing = missing_for_tests(DATA)
    if missing:
        pytest.exit(
            f"the tests read real corpora from {DATA}, which lacks: {', '.join(missing)}. "
            "`python -m nmt fetch-data` downloads the public corpora there (internet access needed); "
            "README.md, section Data, says where each comes from, the alignment set included.",
            returncode=4,
        )


def tiny_config(tmp_path, **overrides):
    """A configuration small enough to train in seconds on 2 cores."""
    from nmt.config import Config

    values = dict(
        source_lang="fr",
        target_lang="en",
        data=f"{tmp_path / 'fra-sample.txt'}",
        valid_size=100,
        test_size=100,
        source_vocab_size=400,
        target_vocab_size=400,
        embedding_dim=32,
        units=64,
        layers=1,
        # What these tests were calibrated with: a model this small learns in seconds with them.
        dropout=0.2,
        init_decoder_from_encoder=True,
        epochs=2,
        batch_tokens=2048,
        precision="float32",  # "auto" would depend on the CPU the tests run on
        beam_size=3,
        output=str(tmp_path / "fr-en"),
    )
    values.update(overrides)
    return Config(**values)


def write_sample(path: Path, lines: int = 3000) -> Path:
    """Every 20th line of the real fra.txt (which is sorted by length), so the sample spans all lengths."""
    with open(FRA, encoding="utf-8") as f:
        path.write_text("".join(line for i, line in enumerate(f) if i % 20 == 0 and i // 20 < lines), encoding="utf-8")
    return path


def train_until_scoring_fails(config, monkeypatch) -> None:
    """Trains `config` but fails while scoring the test split, so the run's resume state stays on disk
    as after an interruption at that point."""
    from nmt import training

    def broken_scoring(*args):
        raise OSError("disk full")

    monkeypatch.setattr(training, "score_test_split", broken_scoring)
    with pytest.raises(OSError, match="disk full"):
        training.train(config)
    monkeypatch.undo()


@pytest.fixture(scope="session")
def trained_checkpoint(tmp_path_factory):
    """A real (tiny) fr→en checkpoint trained by nmt.training.train on a sample of fra.txt."""
    from nmt.training import train

    tmp_path = tmp_path_factory.mktemp("trained")
    write_sample(tmp_path / "fra-sample.txt")
    return train(tiny_config(tmp_path))


@pytest.fixture(scope="session")
def translator(trained_checkpoint):
    from nmt.translator import Translator

    return Translator.load(trained_checkpoint)


@contextlib.contextmanager
def serving(specs):
    """The app on a free loopback port, in this process: yields its URL and the load failures."""
    from nmt.interface import build
    from nmt.serving import load_pairs

    pairs, failures, examples = load_pairs([str(s) for s in specs])
    demo = build(pairs, failures, examples)
    _, url, _ = demo.launch(server_name="127.0.0.1", server_port=free_port(), prevent_thread_lock=True, quiet=True)
    try:
        yield url, failures
    finally:
        demo.close()
