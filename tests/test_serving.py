"""Which checkpoints the app serves: checked when named, each model built on first use."""

import hashlib
import json
import shutil
import threading

import gradio as gr
import pytest

from nmt.checkpoint import CheckedFolder, CheckpointError
from nmt.serving import checkpoint_specs, load_pairs, warm_up


def test_a_checkpoint_that_fails_to_load_is_reported_and_the_rest_serve(trained_checkpoint):
    missing = trained_checkpoint.parent / "missing"
    pairs, failures, _ = load_pairs([str(trained_checkpoint), str(missing)])
    assert list(pairs) == [trained_checkpoint.name]
    assert failures == {"missing": "missing: no such checkpoint folder"}, "visitors see no local path"


def test_a_broken_metrics_file_fails_that_pair_only(trained_checkpoint, tmp_path):
    broken = shutil.copytree(trained_checkpoint, tmp_path / "broken")
    (broken / "metrics.json").write_text("{")
    pairs, failures, _ = load_pairs([str(broken), str(trained_checkpoint)])
    assert list(pairs) == [trained_checkpoint.name] and "not valid JSON" in failures["broken"]


def test_pairs_with_one_name_are_both_served_and_dot_has_a_name(trained_checkpoint, monkeypatch):
    monkeypatch.chdir(trained_checkpoint)
    pairs, failures, _ = load_pairs([".", str(trained_checkpoint)])
    assert not failures
    assert list(pairs) == [trained_checkpoint.name, f"{trained_checkpoint.name} ({trained_checkpoint})"]


def test_only_finished_checkpoints_are_found(tmp_path):
    for name in ("fr-en", "ko-en", "fr-en.training", ".fr-en.staging-x"):
        (tmp_path / name).mkdir()
    (tmp_path / "notes.txt").write_text("")
    assert checkpoint_specs(None, "", tmp_path) == [str(tmp_path / "fr-en"), str(tmp_path / "ko-en")]
    assert checkpoint_specs(None, " a, hf:x/y ,", tmp_path) == ["a", "hf:x/y"]
    assert checkpoint_specs(["b"], "a", tmp_path) == ["b"]


def test_unknown_hub_repository_fails_quickly_with_a_message(monkeypatch):
    import time

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    started = time.time()
    pairs, failures, _ = load_pairs(["hf:nobody/no-such-nmt-checkpoint"])
    assert not pairs and "could not fetch from the Hugging Face Hub" in failures["hf:nobody/no-such-nmt-checkpoint"]
    assert time.time() - started < 10


def test_a_model_is_built_once_on_first_use_and_only_for_its_pair(trained_checkpoint, tmp_path, monkeypatch):
    other = shutil.copytree(trained_checkpoint, tmp_path / "other")
    pairs, failures, _ = load_pairs([str(trained_checkpoint), str(other)])
    assert not failures and list(pairs) == [trained_checkpoint.name, "other"]
    built, load = [], CheckedFolder.load
    monkeypatch.setattr(CheckedFolder, "load", lambda folder: built.append(folder.directory.name) or load(folder))
    assert pairs.folder("other").config.pair == "fr-en" and not built, "the configuration needs no model"
    translators = []
    threads = [threading.Thread(target=lambda: translators.append(pairs[trained_checkpoint.name])) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert built == [trained_checkpoint.name], "four requests at once build the model once, the other pair not at all"
    assert all(t is translators[0] for t in translators)
    assert translators[0].translate_texts(["Je suis content."])[0]


def test_a_model_that_cannot_be_built_fails_its_own_requests_only(trained_checkpoint, tmp_path, caplog):
    from nmt.interface import _analyze

    broken = shutil.copytree(trained_checkpoint, tmp_path / "broken")
    (broken / "weights.h5").write_bytes(b"not HDF5")  # with a matching hash: only building finds it
    manifest = json.loads((broken / "manifest.json").read_text())
    manifest["weights.h5"] = hashlib.sha256(b"not HDF5").hexdigest()
    (broken / "manifest.json").write_text(json.dumps(manifest))
    pairs, failures, _ = load_pairs([str(broken), str(trained_checkpoint)])
    assert not failures
    warm_up(pairs)
    assert "broken: building or tracing it failed" in caplog.text, "warm-up goes on to the next pair"
    with pytest.raises(gr.Error, match="The broken model could not be loaded"):
        _analyze(pairs, "Bonjour.", "broken", "", 1)
    assert _analyze(pairs, "Bonjour.", trained_checkpoint.name, "", 1)["translation"]


def test_weights_replaced_after_the_check_are_not_loaded(trained_checkpoint, tmp_path):
    """A retrain that replaces the folder while the app runs: the new weights would not match the
    configuration and tokenizers read at the start."""
    served = shutil.copytree(trained_checkpoint, tmp_path / "served")
    pairs, _, _ = load_pairs([str(served)])
    (served / "weights.h5").write_bytes((served / "weights.h5").read_bytes() + b"\0")
    with pytest.raises(CheckpointError, match="changed since it was checked"):
        pairs["served"]
