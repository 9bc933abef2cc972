"""Training precision: which dtype policy "auto" picks, and that a mixed run learns as float32 does."""

import json

import h5py
import pytest

from conftest import tiny_config, write_sample
from nmt import precision
from nmt.config import Config

SAPPHIRE_RAPIDS = "flags : fpu sse avx2 avx512f avx512_bf16 amx_bf16 amx_tile"
EPYC_ZEN3 = "flags : fpu sse avx2 fma"


@pytest.mark.parametrize(
    "gpu, cpuinfo, policy",
    [
        (None, SAPPHIRE_RAPIDS, "mixed_bfloat16"),
        (None, EPYC_ZEN3, "float32"),  # bfloat16 would be emulated
        ((9, 0), EPYC_ZEN3, "mixed_bfloat16"),  # H100
        ((7, 5), SAPPHIRE_RAPIDS, "mixed_float16"),  # T4: no bfloat16 units
    ],
)
def test_auto_picks_what_the_hardware_computes_fastest(monkeypatch, gpu, cpuinfo, policy):
    monkeypatch.setattr(precision, "gpu_compute_capability", lambda: gpu)
    assert precision.training_policy("auto", cpuinfo) == policy
    assert precision.training_policy("float32", cpuinfo) == "float32", "an explicit choice is kept"


def test_an_unknown_precision_is_a_clear_error():
    with pytest.raises(ValueError, match="precision must be one of auto, float32, mixed_bfloat16, mixed_float16"):
        Config(source_lang="fr", target_lang="en", precision="float8")


def test_a_mixed_bfloat16_run_learns_as_float32_does_and_ships_the_same_checkpoint(tmp_path, trained_checkpoint):
    from nmt.training import train
    from nmt.translator import Translator

    write_sample(tmp_path / "fra-sample.txt")
    mixed = train(tiny_config(tmp_path, precision="mixed_bfloat16"))
    training = json.loads((mixed / "metrics.json").read_text())["training"]
    float32 = json.loads((trained_checkpoint / "metrics.json").read_text())["training"]
    assert training["precision"] == "mixed_bfloat16" and float32["precision"] == "float32"
    assert training["best_valid_loss"] == pytest.approx(float32["best_valid_loss"], rel=0.01)
    assert Translator.load(mixed).checkpoint.model.dtype_policy.name == "float32", "the app decodes in float32"
    with h5py.File(mixed / "weights.h5") as ours, h5py.File(trained_checkpoint / "weights.h5") as theirs:
        assert len(_datasets(ours)) > 10 and _datasets(ours) == _datasets(theirs), "as a float32 run's"


def _datasets(weights) -> dict:
    found = {}
    weights.visititems(
        lambda name, item: (
            found.update({name: (item.shape, item.dtype.name)}) if isinstance(item, h5py.Dataset) else None
        )
    )
    return found
