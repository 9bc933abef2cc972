"""Beyond what a model knows: limits set from data, flagged sentences named in the notice and JSON."""

import copy
import json

import numpy as np
import pytest

from conftest import DATA, FRA, ROOT
from nmt.analysis import analyze
from nmt.data import ReadReport, read_tatoeba
from nmt.familiarity import Familiarity, calibrate, mean_log_prob

ALIBI = (DATA / "alignments" / "alibi" / "alibi.fr").read_text(encoding="utf-8").splitlines()


def test_a_sentence_is_flagged_when_longer_than_validation_or_translated_without_confidence():
    limits = Familiarity(longest_source_pieces=20, lowest_mean_log_prob=-1.0)
    assert limits.reasons(20, -0.5) == []
    assert limits.reasons(21, -0.5) == ["longer than 99 % of its validation sentences"]
    assert limits.reasons(5, -1.2) == ["the model is unsure of its translation"]
    assert len(limits.reasons(40, -3.0)) == 2
    assert mean_log_prob([1.0, np.exp(-2.0)]) == pytest.approx(-1.0)
    assert (
        Familiarity.of({}) is None
        and Familiarity.of(
            {"familiarity": {"longest_source_pieces": 3, "lowest_mean_log_prob": -2.0}}
        ).longest_source_pieces
        == 3
    )


def test_calibration_takes_its_limits_from_the_data_and_reports_what_they_flag(translator):
    pairs = list(read_tatoeba(FRA, "fr", 300, ReadReport()))
    # fra.txt is sorted by length: both samples span all of it.
    validation, test = [s for s, _ in pairs[::1200]], [s for s, _ in pairs[600::1200]]
    record = calibrate(translator, validation, test, ALIBI[:40], "alibi.fr")
    lengths = [len(translator.source_tokenizer.encode(s)) for s in validation]
    log_probs = [mean_log_prob(t.best.token_probs) for t in translator.translate(validation)]
    assert record["longest_source_pieces"] == int(np.percentile(lengths, 99))
    assert record["lowest_mean_log_prob"] == pytest.approx(np.percentile(log_probs, 5), abs=1e-4)
    assert record["validation_sentences"] == len(validation)
    assert 0 <= record["held_out_flagged"] <= 0.2 and record["held_out_sentences"] == len(test)
    assert record["out_of_domain_flagged"] > record["held_out_flagged"] and record["out_of_domain"] == "alibi.fr"


def test_analyze_names_the_unfamiliar_sentence_in_its_notice_and_json(translator):
    checkpoint = copy.copy(translator.checkpoint)
    checkpoint.metrics = {
        **checkpoint.metrics,
        "familiarity": {"longest_source_pieces": 12, "lowest_mean_log_prob": -9.0},
    }
    calibrated = type(translator)(checkpoint)
    # One long sentence: no sentence end inside it.
    long_sentence = next(line for line in ALIBI if len(line.split()) > 25 and not any(c in line[:-1] for c in ".?!;"))
    result = analyze(calibrated, f"Je suis content. {long_sentence}")
    assert len(result["segments"]) == 2
    first, second = result["segments"][0]["familiarity"], result["segments"][-1]["familiarity"]
    assert first == {"flagged": False, "reasons": []} and second["flagged"]
    assert "Sentence 2 (longer than 99 % of its validation sentences) is unlike" in result["notice"]
    assert analyze(translator, "Je suis content.")["segments"][0]["familiarity"] is None, "uncalibrated: no claim"


@pytest.mark.parametrize("pair", ["fr-en", "ko-en"])
def test_the_shipped_checkpoints_flag_most_out_of_domain_and_few_held_out_sentences(pair):
    record = json.loads((ROOT / "checkpoints" / pair / "metrics.json").read_text())["familiarity"]
    assert record["held_out_flagged"] <= 0.10 and record["held_out_sentences"] >= 400
    assert record["out_of_domain_sentences"] >= 400 and record["out_of_domain_flagged"] >= 0.80


def test_the_calibrate_command_records_its_limits_in_the_checkpoint(trained_checkpoint, tmp_path):
    import shutil
    import subprocess
    import sys

    checkpoint = tmp_path / "fr-en"
    shutil.copytree(trained_checkpoint, checkpoint)
    before = json.loads((checkpoint / "metrics.json").read_text())
    (tmp_path / "ood.fr").write_text("\n".join(ALIBI[:30]) + "\n", encoding="utf-8")
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "nmt",
            "calibrate",
            "--checkpoint",
            checkpoint,
            "--out-of-domain",
            tmp_path / "ood.fr",
            "--limit",
            "30",
        ],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=ROOT,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    record = json.loads(done.stdout.strip().splitlines()[-1])
    after = json.loads((checkpoint / "metrics.json").read_text())
    assert after["familiarity"] == record and record["out_of_domain_sentences"] == 30
    assert {k: v for k, v in after.items() if k != "familiarity"} == before, "the rest of metrics.json is kept"
    assert not list(checkpoint.glob(".*staging*"))
    from nmt.checkpoint import load_checkpoint

    assert load_checkpoint(checkpoint).metrics["familiarity"] == record, "the manifest still matches"
