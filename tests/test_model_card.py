"""Model cards: Hub metadata that the Hub's own parser reads back, with the scores of metrics.json."""

import json

import pytest
from huggingface_hub import ModelCard

from conftest import ROOT


def _card_and_metrics(folder):
    card = ModelCard((folder / "README.md").read_text(encoding="utf-8"))
    return card, json.loads((folder / "metrics.json").read_text(encoding="utf-8"))


def test_a_trained_checkpoint_s_card_carries_hub_metadata_and_its_held_out_scores(trained_checkpoint):
    card, metrics = _card_and_metrics(trained_checkpoint)
    data = card.data
    assert data.language == ["fr", "en"] and data.pipeline_tag == "translation" and data.license == "mit"
    assert data.library_name == "keras" and data.datasets is None, "a sample file is not named as Tatoeba"
    scores = {(r.metric_type, r.metric_name): r.metric_value for r in data.eval_results}
    beam = json.loads((trained_checkpoint / "config.json").read_text())["beam_size"]
    assert scores == {
        ("bleu", f"BLEU (beam {beam})"): metrics["test"]["bleu"],
        ("chrf", f"chrF (beam {beam})"): metrics["test"]["chrf"],
        ("bleu", "BLEU (greedy)"): metrics["test"]["greedy"]["bleu"],
    }
    assert all(r.task_type == "translation" and r.dataset_split == "test" for r in data.eval_results)
    assert card.text.lstrip().startswith("# fr-en LSTM + Luong attention")


@pytest.mark.parametrize("pair", ["fr-en", "ko-en"])
def test_the_shipped_cards_carry_hub_metadata_matching_their_metrics(pair):
    card, metrics = _card_and_metrics(ROOT / "checkpoints" / pair)
    assert card.data.language == pair.split("-") and card.data.datasets == ["tatoeba"]
    values = {r.metric_name: r.metric_value for r in card.data.eval_results}
    assert values["BLEU (beam 5)"] == metrics["test"]["bleu"] and values["chrF (beam 5)"] == metrics["test"]["chrf"]
