"""Soak: 2,000 mixed requests from 16 clients against one `python app.py`, bounded in count and time.

Good sentences, empty and invisible-only text, 10,000-character input, HTML, a wrong pair and beam
sizes out of range, shuffled. Every request must get a translation or a clear error (a message the
app wrote for the user, never a bare server error), the server must keep running, and its resident
memory must not grow by more than 5 % after the first 200 requests. Prints JSON as its last line.

    python bench/soak.py [--requests 2000] [--clients 16]
"""

import argparse
import json
import random
import sys
import threading
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

# The app's own messages for requests it cannot answer (nmt/analysis.py, nmt/interface.py).
CLEAR_ERRORS = ("enter some text", "beam size", "Unknown language pair")


def mixed_requests(sentences, count: int, seed: int = 0) -> list[tuple[str, str, int, str]]:
    """(text, pair, beam size, kind) requests: three in five good, the rest each kind of bad input."""
    rng = random.Random(seed)
    kinds = {
        "good": lambda: (rng.choice(sentences), "fr-en", rng.randint(1, 5)),
        "good-korean": lambda: ("톰은 집에 있어요. 나는 학생이에요.", "ko-en", rng.randint(1, 5)),
        "empty": lambda: (rng.choice(["", "   ", "\u200b\x00"]), "fr-en", 1),
        "huge": lambda: ("Il fait très froid ce matin. " * 350, "fr-en", 2),
        "html": lambda: ("<script>alert(1)</script><b>Bonjour</b> & « toi ».", "fr-en", 1),
        "wrong-pair": lambda: ("Bonjour.", rng.choice(["xx-en", "", "../../etc"]), 1),
        "beam-out-of-range": lambda: ("Bonjour.", "fr-en", rng.choice([0, 11, -3, 1000])),
    }
    weights = {"good": 10, "good-korean": 2, "empty": 1, "huge": 1, "html": 1, "wrong-pair": 1, "beam-out-of-range": 1}
    chosen = rng.choices(list(kinds), [weights[k] for k in kinds], k=count)
    return [(*kinds[kind](), kind) for kind in chosen]


def main():
    from bench.app_start import rss_mb, running_app
    from bench.load import send_all
    from nmt.config import read_config
    from nmt.training import read_split

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--timeout-minutes", type=float, default=40)
    args = parser.parse_args()

    split, _ = read_split(read_config(ROOT / "config.ini", "fr-en"))
    requests = mixed_requests([s for s, _ in split.test], args.requests)
    with running_app() as (url, _, server):
        rss = {}
        lock = threading.Lock()

        def between(done):
            if done in (1, 200, args.requests // 2, args.requests):
                with lock:
                    rss[done] = round(rss_mb(server.pid), 1)

        outcomes, wall = send_all(url, [r[:3] for r in requests], args.clients, 60 * args.timeout_minutes, between)
        alive = server.poll() is None
        rss["end"] = round(rss_mb(server.pid), 1) if alive else None
    answered, clear, unclear = Counter(), Counter(), Counter()
    examples = []
    for (_, _, _, kind), (_, error) in zip(requests, outcomes):
        if error is None:
            answered[kind] += 1
        elif any(message in error for message in CLEAR_ERRORS):
            clear[kind] += 1
        else:
            unclear[kind] += 1
            examples.append(error[:200])
    after_200 = rss.get(200)
    growth = (rss["end"] - after_200) / after_200 if alive and after_200 else None
    print(
        json.dumps(
            {
                "requests": len(requests),
                "clients": args.clients,
                "server_alive": alive,
                "answered": sum(answered.values()),
                "clear_errors": sum(clear.values()),
                "unclear_errors": sum(unclear.values()),
                "unclear_examples": examples[:3],
                "by_kind": {k: [answered[k], clear[k], unclear[k]] for k in sorted(set(r[3] for r in requests))},
                "rss_mb": rss,
                "rss_growth_after_200": round(growth, 4) if growth is not None else None,
                "wall_s": round(wall, 1),
            }
        )
    )


if __name__ == "__main__":
    main()
