import json
import shutil

import numpy as np
import pytest

from nmt.checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from nmt.translator import Translator

SENTENCES = ["Je suis content.", "Il fait froid.", "Tom est là."]


@pytest.fixture
def copy(trained_checkpoint, tmp_path):
    target = tmp_path / "copy"
    shutil.copytree(trained_checkpoint, target)
    return target


def test_save_and_load_give_identical_translations(translator, tmp_path):
    before = translator.translate(SENTENCES, beam_size=3)
    saved = save_checkpoint(tmp_path / "again", translator.checkpoint, "card")
    after = Translator.load(saved).translate(SENTENCES, beam_size=3)
    for a, b in zip(before, after):
        np.testing.assert_array_equal(a.best.token_ids, b.best.token_ids)
        np.testing.assert_allclose(a.best.attention, b.best.attention, atol=1e-6)
    assert sorted(p.name for p in saved.iterdir()) == sorted(
        [
            "README.md",
            "config.json",
            "examples.json",
            "manifest.json",
            "metrics.json",
            "source.spm",
            "target.spm",
            "weights.h5",
        ]
    )
    assert not list(tmp_path.glob(".again*")), "no staging or retired folder may be left behind"


def test_saving_over_a_checkpoint_replaces_it_whole(translator, tmp_path):
    target = tmp_path / "ck"
    save_checkpoint(target, translator.checkpoint, "first")
    (target / "stray.txt").write_text("left from before")
    save_checkpoint(target, translator.checkpoint, "second")
    assert (target / "README.md").read_text() == "second"
    assert not (target / "stray.txt").exists()


def test_failed_save_leaves_the_previous_checkpoint_intact(translator, tmp_path, monkeypatch):
    target = tmp_path / "ck"
    save_checkpoint(target, translator.checkpoint, "good")
    import nmt.checkpoint as ckpt

    def broken(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(ckpt, "write_weights", broken)
    with pytest.raises(OSError, match="disk full"):
        save_checkpoint(target, translator.checkpoint, "bad")
    assert (target / "README.md").read_text() == "good"
    assert load_checkpoint(target).config == translator.config
    assert [p.name for p in tmp_path.iterdir()] == ["ck"]


def test_missing_file_is_named(copy):
    (copy / "target.spm").unlink()
    with pytest.raises(CheckpointError, match=r"missing target\.spm"):
        load_checkpoint(copy)


def test_truncated_weights_are_named(copy):
    data = (copy / "weights.h5").read_bytes()
    (copy / "weights.h5").write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match=r"weights\.h5.*does not match manifest\.json"):
        load_checkpoint(copy)


def test_sentencepiece_model_from_another_checkpoint_is_named(copy):
    shutil.copy(copy / "target.spm", copy / "source.spm")
    with pytest.raises(CheckpointError, match=r"source\.spm.*another checkpoint"):
        load_checkpoint(copy)


def test_config_that_does_not_match_the_weights_is_named(copy):
    config = json.loads((copy / "config.json").read_text())
    config["units"] = 128
    (copy / "config.json").write_text(json.dumps(config))
    manifest = json.loads((copy / "manifest.json").read_text())
    import hashlib

    manifest["config.json"] = hashlib.sha256((copy / "config.json").read_bytes()).hexdigest()
    (copy / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(CheckpointError, match=r"weights\.h5: weight .* has shape .* the configuration needs"):
        load_checkpoint(copy)


def test_not_a_folder(tmp_path):
    with pytest.raises(CheckpointError, match="no such checkpoint folder"):
        load_checkpoint(tmp_path / "nothing")


def test_weights_are_stored_in_half_precision(trained_checkpoint):
    import h5py

    with h5py.File(trained_checkpoint / "weights.h5") as f:
        dtypes = set()
        f.visititems(lambda name, item: dtypes.add(str(item.dtype)) if hasattr(item, "dtype") else None)
    assert dtypes == {"float16"}


@pytest.mark.parametrize(
    "name, content, message",
    [
        ("metrics.json", "{not json", "metrics.json: not valid JSON"),
        ("examples.json", "[{]", "examples.json: not valid JSON"),
        ("examples.json", '{"source": "x"}', "examples.json: expected a JSON array"),
        ("examples.json", '[{"source": "x"}]', "needs a source and a reference"),
    ],
)
def test_unreadable_metrics_or_examples_fail_the_load_naming_the_file(copy, name, content, message):
    (copy / name).write_text(content)
    with pytest.raises(CheckpointError, match=message):
        load_checkpoint(copy)
