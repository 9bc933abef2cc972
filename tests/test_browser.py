"""End to end in a real browser: Debian's headless Chromium, driven by Playwright, on the shipped checkpoints
(and on a tiny one trained by the tests, for what only a new checkpoint records)."""

import os
import re
import shutil
from pathlib import Path

import pytest

from conftest import ROOT, serving

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="needs Debian's chromium (installed by .ci/run)")

# The browser test checks what a visitor sees, so it writes the README's screenshot when asked to.
SCREENSHOT = os.environ.get("NMT_SCREENSHOT")


@pytest.fixture(scope="module")
def shipped_app():
    with serving([ROOT / "checkpoints" / "fr-en", ROOT / "checkpoints" / "ko-en"]) as (url, failures):
        assert not failures
        yield url


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-sync",
                "--disable-background-networking",
                "--disable-component-update",
            ],
        )
        yield browser
        browser.close()


def open_app(browser, url):
    """A new page on `url`, once the app's text box is there."""
    page = browser.new_page(viewport={"width": 1280, "height": 1800})
    page.goto(url)
    page.get_by_label("Source text").wait_for(timeout=30000)
    return page


@pytest.fixture(scope="module")
def page(browser, shipped_app):
    page = open_app(browser, shipped_app)
    yield page
    page.close()


def _translate(page, pair, text, reference):
    page.get_by_label("Language pair").click()
    page.get_by_role("option", name=pair).click()
    page.get_by_label("Source text").fill(text)
    page.get_by_label("Reference translation (optional)").fill(reference)
    page.get_by_role("button", name="Translate").click()
    translation = page.locator("#translation textarea")
    page.wait_for_function("el => el.value.length > 0", arg=translation.element_handle(), timeout=60000)
    page.locator("#scores").get_by_text("BLEU").wait_for(timeout=30000)
    page.locator("#heatmap svg rect[data-step]").first.wait_for(timeout=30000)
    return translation.input_value()


def test_french_sentence_shows_translation_heatmap_and_bleu(page):
    translation = _translate(page, "fr-en", "Je suis très content de te voir.", "I'm very happy to see you.")
    assert "see you" in translation
    cells = page.locator("#heatmap svg rect[data-step]")
    assert cells.count() >= 20
    # Pointing at a cell shows its two pieces and its weight.
    cell = page.locator("#heatmap svg rect[data-step='2']").nth(1)
    cell.hover()
    assert re.fullmatch(r".+ ← .+: [01]\.\d{3}", cell.locator("title").text_content())
    assert page.locator("#heatmap-file a").first.get_attribute("href").endswith(".svg")
    assert "chrF" in page.locator("#scores").inner_text()
    assert "&lt;" not in page.locator("body").inner_text(), "pieces such as </s> are shown as they are"
    # Each generated piece is shaded by its probability, with a legend saying which end is "sure".
    confidence = page.locator("#confidence svg.piece-strip")
    assert "1 sure" in confidence.text_content()
    assert re.fullmatch(r".+: [01]\.\d{3}", confidence.locator("g[data-value] title").first.text_content())
    if SCREENSHOT:
        page.screenshot(path=SCREENSHOT, full_page=False)
    # The reference, under forced decoding, beside the model's own translation.
    page.locator("#reference-heatmap svg rect[data-step]").first.wait_for(timeout=30000)
    assert "Reference log-probability" in page.locator("#reference-summary").inner_text()
    page.get_by_role("tab", name="Step by step").click()
    assert "Step 1" in page.locator("#step-summary").inner_text()
    page.get_by_role("tab", name="Attention").click()
    # Clicking a row of the heatmap opens that step in the step view.
    page.locator("#heatmap svg rect[data-step='3']").first.click()
    page.locator("#step-summary").get_by_text("Step 3").wait_for(timeout=30000)
    page.get_by_role("tab", name="n-best").click()
    page.locator("#nbest-heatmap svg rect[data-step]").first.wait_for(timeout=30000)
    # The shipped fr-en recorded the attention of held-out sentences after each of its epochs.
    page.get_by_role("tab", name="While it learned").click()
    page.locator("#learning-heatmap svg.attention-heatmap").wait_for(timeout=30000)
    page.get_by_role("tab", name="Attention").click()


def test_korean_sentence_shows_translation_heatmap_and_bleu(page):
    translation = _translate(page, "ko-en", "나는 학생이에요.", "I'm a student.")
    assert translation.strip()
    # Hangul pieces label the columns of the new heatmap.
    page.wait_for_function(
        "() => document.querySelector('#heatmap svg.attention-heatmap')?.textContent.includes('▁나는')", timeout=30000
    )


def test_user_text_is_never_rendered_as_html(page):
    page.on("dialog", lambda dialog: pytest.fail(f"a script from user text ran: {dialog.message}"))
    _translate(page, "fr-en", "<img src=x onerror=alert(1)> Bonjour.", "<script>alert(2)</script>")
    assert page.locator("img[src=x]").count() == 0


def test_a_sentence_unlike_the_training_data_gets_a_notice(page):
    long_sentence = (
        "La femme, qui avait attendu pendant de longues heures dans la grande salle froide du château, "
        "se leva enfin et demanda au vieux serviteur pourquoi son maître ne revenait pas."
    )
    _translate(page, "fr-en", long_sentence, "The woman asked why.")
    page.locator("#notice").get_by_text("unlike what this model learned from").wait_for(timeout=30000)


def test_the_epoch_slider_shows_the_attention_of_each_epoch(browser, trained_checkpoint):
    with serving([trained_checkpoint]) as (url, failures):
        assert not failures
        page = open_app(browser, url)
        page.get_by_role("tab", name="While it learned").click()
        heatmap = page.locator("#learning-heatmap svg.attention-heatmap")
        heatmap.get_by_text("after epoch 2 of 2").wait_for(timeout=30000)
        last = heatmap.locator("rect[data-weight]").evaluate_all("cells => cells.map(c => c.dataset.weight)")
        # Dragging the slider to its left end shows the first epoch's attention instead.
        page.locator("#learning-epoch input[type=range]").click(position={"x": 1, "y": 5})
        heatmap.get_by_text("after epoch 1 of 2").wait_for(timeout=30000)
        first = heatmap.locator("rect[data-weight]").evaluate_all("cells => cells.map(c => c.dataset.weight)")
        assert len(first) == len(last) and first != last
