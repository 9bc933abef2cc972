"""Streaming corpora keep memory flat: the same bounded training run (one epoch of `--stream-pairs`
pairs, a small model) on a 100k-pair corpus and on one of 5M pairs (the 2019 release repeated), each
in a process of its own; prints their peak resident memory and its ratio as JSON, last line.

    python bench/stream_memory.py [--pairs 5000000] [--small 100000]
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT.parent / "shared" / "data" / "fra-eng-2019" / "fra.txt"

# One bounded run: a small model, one epoch of a chunk, tokenizers on a bounded sample.
SETTINGS = {
    "stream_pairs": 20_000,
    "tokenizer_sample": 50_000,
    "epochs": 1,
    "valid_size": 200,
    "test_size": 200,
    "units": 64,
    "embedding_dim": 32,
    "layers": 1,
    "source_vocab_size": 1000,
    "target_vocab_size": 1000,
    "beam_size": 1,
    "precision": "float32",
    "guided_alignment": 0,  # config.ini's [fr-en] guides; eflomal would align every pair in memory
}

# Runs train.py's main in this child and prints its peak resident memory (kB on Linux) last.
CHILD = """
import resource, runpy, sys
sys.argv = sys.argv[1:]
try:
    runpy.run_path(sys.argv[0], run_name="__main__")
except SystemExit as done:
    if done.code:
        raise
print("peak_rss_kb", resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""


def write_corpus(path: Path, pairs: int, source: Path = CORPUS) -> Path:
    """`pairs` lines of `source`, read over and over."""
    lines = source.read_text(encoding="utf-8").splitlines(keepends=True)
    with open(path, "w", encoding="utf-8") as out:
        for i in range(pairs):
            out.write(lines[i % len(lines)])
    return path


def peak_rss_mb(corpus: Path, folder: Path, settings: dict = SETTINGS) -> tuple[float, float]:
    """(peak resident memory in MB, seconds) of `train.py fr-en` streaming `corpus` with `settings`."""
    flags = [f"--{key.replace('_', '-')}={value}" for key, value in settings.items()]
    command = [sys.executable, "-c", CHILD, str(ROOT / "train.py"), "fr-en", f"--data={corpus}"]
    command += [*flags, f"--output={folder / corpus.stem}"]
    started = time.perf_counter()
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=3600)
    if done.returncode:
        raise RuntimeError(f"training failed:\n{done.stderr[-3000:]}")
    kb = int(done.stdout.strip().splitlines()[-1].split()[-1])
    return kb / 1024, time.perf_counter() - started


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pairs", type=int, default=5_000_000, help="pairs of the large corpus")
    parser.add_argument("--small", type=int, default=100_000, help="pairs of the small corpus")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        small_mb, small_s = peak_rss_mb(write_corpus(folder / "small.txt", args.small), folder)
        large_mb, large_s = peak_rss_mb(write_corpus(folder / "large.txt", args.pairs), folder)
    print(
        json.dumps(
            {
                "small_pairs": args.small,
                "large_pairs": args.pairs,
                "small_peak_rss_mb": round(small_mb, 1),
                "large_peak_rss_mb": round(large_mb, 1),
                "rss_ratio": round(large_mb / small_mb, 3),
                "small_seconds": round(small_s, 1),
                "large_seconds": round(large_s, 1),
            }
        )
    )


if __name__ == "__main__":
    main()
