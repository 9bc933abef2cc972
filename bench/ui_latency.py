"""Click → new heatmap in a real browser: Debian's chromium, driven by Playwright, on `python app.py`
with the shipped checkpoints. For each everyday sentence (about 10 words), the time from the click on
Translate to the new heatmap's cells being in the page, after one warm-up; also the server's own time
for the same request through /analyze (the model's work, without drawing or transport). Prints each
sentence's times, then JSON as its last line.

    python bench/ui_latency.py [--repeats 3]
"""

import argparse
import json
import os
import shutil
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.app_start import running_app  # noqa: E402

SENTENCES = [
    "Je pense que nous devrions partir avant la pluie.",
    "Mon frère travaille dans un hôpital depuis trois ans.",
    "Peux-tu me dire où se trouve la gare la plus proche ?",
    "Nous avons mangé une excellente pizza hier soir.",
    "Elle ne comprend pas pourquoi il est parti si tôt.",
]
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
HEATMAP_TEXT = "() => document.querySelector('#heatmap svg.attention-heatmap')?.textContent ?? ''"
NEW_HEATMAP = "before => (document.querySelector('#heatmap svg.attention-heatmap')?.textContent ?? '') !== before"


def click_to_heatmap_ms(page, sentence: str) -> float:
    """Types `sentence`, clicks Translate and waits until the heatmap in the page is a new one (the
    caller alternates sentences, so every click changes it)."""
    page.get_by_label("Source text").fill(sentence)
    before = page.evaluate(HEATMAP_TEXT)
    started = time.perf_counter()
    page.get_by_role("button", name="Translate").click()
    page.wait_for_function(NEW_HEATMAP, arg=before, timeout=60000, polling=10)
    return 1000 * (time.perf_counter() - started)


def main():
    from playwright.sync_api import sync_playwright

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=3, help="passes over the sentences")
    args = parser.parse_args()
    with running_app() as (url, client, _), sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
        page = browser.new_page(viewport={"width": 1280, "height": 1800})
        page.goto(url)
        page.get_by_label("Source text").wait_for(timeout=60000)
        click_to_heatmap_ms(page, "Bonjour tout le monde.")  # warm-up
        clicks, server = [], []
        for _ in range(args.repeats):
            for sentence in SENTENCES:
                # Alternate with another sentence so each click changes the heatmap.
                click_to_heatmap_ms(page, "Salut " + sentence.lower())
                clicks.append(click_to_heatmap_ms(page, sentence))
                started = time.perf_counter()
                client.predict(sentence, "fr-en", "", 5, api_name="/analyze")
                server.append(1000 * (time.perf_counter() - started))
                print(f"{clicks[-1]:7.1f} ms click → heatmap, {server[-1]:6.1f} ms /analyze: {sentence}")
        browser.close()
    print(
        json.dumps(
            {
                "sentences": len(SENTENCES),
                "repeats": args.repeats,
                "click_to_heatmap_median_ms": round(statistics.median(clicks), 1),
                "click_to_heatmap_max_ms": round(max(clicks), 1),
                "analyze_median_ms": round(statistics.median(server), 1),
                "cpu_count": os.cpu_count(),
            }
        )
    )


if __name__ == "__main__":
    main()
