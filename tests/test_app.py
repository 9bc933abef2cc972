"""The app launched in-process on 127.0.0.1 and called through gradio_client, as a user's script would."""

import dataclasses
import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from conftest import free_port, serving


@pytest.fixture(scope="module")
def app_url(trained_checkpoint):
    with serving([trained_checkpoint, trained_checkpoint.parent / "missing"]) as (url, _):
        yield url


@pytest.fixture(scope="module")
def client(app_url):
    from gradio_client import Client

    return Client(app_url, verbose=False)


def test_analyze_contract_with_reference_and_beam(client):
    result = client.predict("Je suis content. Il fait froid.", "fr-en", "I'm happy. It's cold.", 3, api_name="/analyze")
    assert isinstance(result["translation"], str) and result["translation"]
    assert isinstance(result["bleu"], float) and isinstance(result["chrf"], float)
    assert [s["source"] for s in result["segments"]] == ["Je suis content.", "Il fait froid."]
    for segment in result["segments"]:
        attention = np.array(segment["attention"])
        assert attention.shape == (len(segment["target_tokens"]), len(segment["source_tokens"]))
        np.testing.assert_allclose(attention.sum(1), 1.0, atol=1e-3)
        assert len(segment["token_probs"]) == len(segment["target_tokens"])
        assert all(0 < p <= 1 for p in segment["token_probs"])


def test_analyze_greedy_without_reference_has_no_scores(client):
    result = client.predict("Je suis content.", "fr-en", "", 1, api_name="/analyze")
    assert result["bleu"] is None and result["chrf"] is None and len(result["segments"]) == 1


@pytest.mark.parametrize(
    "text, beam, message",
    [
        ("", 1, "enter some text"),
        ("  \t\n ", 1, "enter some text"),
        ("\x00\u200b\u202e", 1, "enter some text"),
        ("Bonjour.", 0, "beam size"),
        ("Bonjour.", 11, "beam size"),
    ],
)
def test_bad_input_gets_a_clear_message(client, text, beam, message):
    from gradio_client.exceptions import AppError

    with pytest.raises(AppError, match=message):
        client.predict(text, "fr-en", "", beam, api_name="/analyze")


def test_unknown_pair_gets_a_clear_message(client):
    from gradio_client.exceptions import AppError

    with pytest.raises(AppError, match="Unknown language pair"):
        client.predict("Bonjour.", "xx-en", "", 1, api_name="/analyze")


@pytest.mark.parametrize(
    "text",
    [
        "<script>alert('x')</script> Bonjour <b>toi</b>.",
        "Salut 😀🎉 !",
        "שלום עולם. مرحبا بالعالم.",
        "톰은 집에 있어요.",
        "Bonjour. " * 12000,  # 108,000 characters
    ],
)
def test_odd_input_gets_a_translation_and_the_server_keeps_answering(client, text):
    result = client.predict(text, "fr-en", "", 2, api_name="/analyze")
    assert isinstance(result["translation"], str)
    assert len(result["segments"]) <= 20
    if len(text) > 2000:  # cut before it reaches the model
        assert "cut" in result["notice"]
    assert client.predict("Merci.", "fr-en", "", 1, api_name="/analyze")["translation"]


def test_only_the_analyze_endpoint_is_public(client):
    assert list(client.view_api(print_info=False, return_format="dict")["named_endpoints"]) == ["/analyze"]


def test_downloads_are_private_and_bounded():
    from nmt.interface import Downloads

    downloads = Downloads(keep=3)
    names = [downloads.write({"n": n}) for n in range(5)]
    folder = downloads.folder
    assert folder.stat().st_mode & 0o077 == 0, "no other local user may read or write the folder"
    assert sorted(p.name for p in folder.iterdir()) == sorted(Path(n).name for n in names[-3:])
    assert json.loads(Path(names[-1]).read_text()) == {"n": 4}
    shutil.rmtree(folder)
    assert Path(downloads.write({"n": 5})).is_file(), "a folder removed by a cleaner is made again"


def test_sixteen_concurrent_clients_get_every_answer(app_url):
    """64 real sentences from 16 clients at once: no errors (loopback only, bounded in time)."""
    from bench.load import run_load
    from conftest import FRA

    with open(FRA, encoding="utf-8") as f:
        sentences = [line.split("\t")[1].strip() for i, line in enumerate(f) if i % 1000 == 0][:64]
    report = run_load(app_url, sentences, "fr-en", clients=16, beam_size=2, timeout_s=120)
    print("load:", report)
    assert report["requests"] == 64 and report["errors"] == 0, report["error_examples"]
    assert report["p95_ms"] is not None


def test_beyond_the_queue_bound_clients_are_told_it_is_busy(trained_checkpoint):
    """A full queue answers at once with a clear 'queue is full' instead of letting clients hang."""
    from bench.load import run_load
    from nmt.interface import build
    from nmt.serving import load_pairs

    pairs, _, _ = load_pairs([str(trained_checkpoint)])
    demo = build(pairs).queue(max_size=1, default_concurrency_limit=1)
    _, url, _ = demo.launch(server_name="127.0.0.1", server_port=free_port(), prevent_thread_lock=True, quiet=True)
    try:
        report = run_load(
            url, ["Il fait très froid ce matin. " * 40] * 12, "fr-en", clients=12, beam_size=10, timeout_s=120
        )
        assert report["errors"] > 0
        assert all("Queue is full" in e for e in report["error_examples"])
        from gradio_client import Client

        assert Client(url, verbose=False).predict("Merci.", "fr-en", "", 1, api_name="/analyze")["translation"]
    finally:
        demo.close()


@pytest.mark.parametrize("text, markdown", [("</s>", "`</s>`"), ("▁a`b", "`` ▁a`b ``"), ("``", "``` `` ```")])
def test_pieces_are_quoted_as_markdown_code_that_stays_closed(text, markdown):
    from nmt.interface import code_span

    assert code_span(text) == markdown


def test_the_failure_banner_shows_names_and_reasons_literally():
    from nmt.interface import failure_banner

    banner = failure_banner({"<b>x</b>": "x/config.json: a & b"})
    assert banner == "⚠️ `<b>x</b>` could not be loaded: `x/config.json: a & b`", "code spans escape by themselves"


def test_compare_shows_the_chosen_sentence_and_says_which(trained_checkpoint):
    from nmt.analysis import analyze
    from nmt.interface import compare_views
    from nmt.serving import load_pairs

    pairs, _, _ = load_pairs([str(trained_checkpoint)])
    text = "Je suis content. Il fait froid."
    second = analyze(pairs["fr-en"], text, "", 1)["segments"][1]["translation"]
    _, _, markdown = compare_views(pairs, text, ("fr-en", 1), ("fr-en", 2), 1, False)
    assert markdown.startswith("Sentence 2 of 2") and second in markdown.splitlines()[1]
    _, _, markdown = compare_views(pairs, "Bonjour. " * 300, ("fr-en", 1), ("fr-en", 1), 0, False)
    assert markdown.startswith("The text was cut to its first 2000 characters.")


def test_the_step_view_says_why_beam_search_kept_a_less_probable_piece():
    from nmt.interface import _step_views

    segment = {
        "source_tokens": ["▁Il", "</s>"],
        "target_tokens": ["▁He", "</s>"],
        "token_probs": [0.4, 0.9],
        "attention": [[0.9, 0.1], [0.2, 0.8]],
        "entropy": [0.3, 0.5],
        "alternatives": [
            [{"token": "▁It", "prob": 0.5}, {"token": "▁He", "prob": 0.4}],
            [{"token": "</s>", "prob": 0.9}],
        ],
    }
    first, *_ = _step_views({"segments": [segment]}, 0, 1, False)
    second, *_ = _step_views({"segments": [segment]}, 0, 2, False)
    assert "`▁It` was more probable at this step (0.500); beam search kept this piece" in first
    assert "more probable" not in second


def test_the_learning_tab_shows_each_epoch_or_says_there_is_no_record(trained_checkpoint):
    from nmt.checkpoint import check_checkpoint
    from nmt.interface import learning_views

    folder = check_checkpoint(trained_checkpoint)
    sentences, slider, heatmap, note = learning_views(folder, 0, 1)
    assert slider.maximum == 2 and slider.value == 1 and "after epoch 1 of 2" in heatmap
    assert len(sentences.choices) >= 1 and "data-step" not in heatmap, "rows are the reference, not steps"
    _, last, latest, _ = learning_views(folder, 0, None)
    assert last.value == 2 and latest != heatmap
    without = dataclasses.replace(folder, metrics={"training": {}})  # an older checkpoint
    *_, nothing, note = learning_views(without, 0, None)
    assert nothing is None and "no record of its attention during training" in note
