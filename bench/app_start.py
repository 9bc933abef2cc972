"""App cold start and memory: from `python app.py` to the first answered /analyze call, with every
shipped checkpoint loaded; then the server's resident memory. Prints JSON as its last line.

    python bench/app_start.py
"""

import contextlib
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def running_app():
    """`python app.py` on a free loopback port; yields (url, a connected client, the server process)
    once it answers, and stops it afterwards."""
    from gradio_client import Client

    port = free_port()
    env = {**os.environ, "GRADIO_SERVER_PORT": str(port), "GRADIO_SERVER_NAME": "127.0.0.1"}
    server = subprocess.Popen(
        [sys.executable, str(ROOT / "app.py")], env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        url = f"http://127.0.0.1:{port}/"
        while True:
            if server.poll() is not None:
                raise SystemExit("the app exited before answering")
            try:
                client = Client(url, verbose=False)
                break
            except Exception:  # not listening yet
                time.sleep(0.1)
        yield url, client, server
    finally:
        server.terminate()
        server.wait(timeout=30)


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


def main():
    started = time.perf_counter()
    with running_app() as (_, client, server):
        answer = client.predict("Je suis content de te voir.", "fr-en", "", 5, api_name="/analyze")
        cold_start = time.perf_counter() - started
        call_started = time.perf_counter()
        client.predict("Il fait très beau aujourd'hui.", "fr-en", "", 5, api_name="/analyze")
        call_ms = 1000 * (time.perf_counter() - call_started)
        print(
            json.dumps(
                {
                    "cold_start_s": round(cold_start, 2),
                    "first_translation": answer["translation"],
                    "analyze_call_ms": round(call_ms, 1),
                    "rss_mb": round(rss_mb(server.pid), 1),
                    "cpu_count": os.cpu_count(),
                }
            )
        )


if __name__ == "__main__":
    main()
