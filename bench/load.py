"""Load on the /analyze API: N concurrent clients share M real held-out sentences against a local app.

Starts `python app.py` on a free loopback port (or uses --url), sends the requests, and prints JSON
as its last line: requests, clients, errors, p50/p95/max latency in ms and requests per second.

    python bench/load.py [--clients 16] [--sentences 64] [--beam 1]
"""

import argparse
import json
import queue
import statistics
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def send_all(url: str, requests, clients: int, timeout_s: float = 300, between=None):
    """Sends each (text, pair, beam size) request once through /analyze from `clients` threads;
    returns (seconds, error or None) per request, in order, and the wall time. `between(done)` is
    called after each answer, from the thread that got it."""
    from gradio_client import Client

    # Each client, like a user at a browser, has one request in flight at a time: a worker takes an idle
    # client and gives it back when answered (one Client shared by two threads can lose an answer).
    idle_clients = queue.Queue()
    for _ in range(clients):
        idle_clients.put(Client(url, verbose=False))
    deadline = time.perf_counter() + timeout_s
    done = iter(range(1, len(requests) + 1))

    def one(request):
        if time.perf_counter() > deadline:
            return None, "skipped: past the time limit"
        client = idle_clients.get()
        started = time.perf_counter()
        try:
            client.predict(*request[:2], "", request[2], api_name="/analyze")
            return time.perf_counter() - started, None
        except Exception as error:  # every failure is counted and reported, none is hidden
            return time.perf_counter() - started, f"{type(error).__name__}: {error}"
        finally:
            idle_clients.put(client)
            if between:
                between(next(done))

    started = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        outcomes = list(pool.map(one, requests))
    return outcomes, time.perf_counter() - started


def run_load(url: str, sentences, pair: str, clients: int, beam_size: int, timeout_s: float = 300) -> dict:
    """Sends every sentence once through /analyze from `clients` threads; returns latency figures."""
    outcomes, wall = send_all(url, [(s, pair, beam_size) for s in sentences], clients, timeout_s)
    latencies = sorted(1000 * t for t, error in outcomes if error is None)
    errors = [error for _, error in outcomes if error is not None]
    return {
        "requests": len(sentences),
        "clients": clients,
        "errors": len(errors),
        "error_examples": errors[:3],
        "p50_ms": round(statistics.median(latencies), 1) if latencies else None,
        "p95_ms": round(latencies[max(0, int(0.95 * len(latencies)) - 1)], 1) if latencies else None,
        "max_ms": round(latencies[-1], 1) if latencies else None,
        "requests_per_s": round(len(latencies) / wall, 2),
    }


def main():
    from bench.app_start import running_app
    from nmt.config import read_config
    from nmt.training import read_split

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--sentences", type=int, default=64)
    parser.add_argument("--beam", type=int, default=1)
    parser.add_argument("--url", help="an app already running (default: start one)")
    args = parser.parse_args()

    split, _ = read_split(read_config(ROOT / "config.ini", "fr-en"))
    sentences = [s for s, _ in split.test[: args.sentences]]
    if args.url:
        print(json.dumps(run_load(args.url, sentences, "fr-en", args.clients, args.beam)))
        return
    with running_app() as (url, _, _):
        print(json.dumps(run_load(url, sentences, "fr-en", args.clients, args.beam)))


if __name__ == "__main__":
    main()
