"""The checkpoints the repository ships: they load, are small, record their scores, and their
attention actually aligns (it does not park on one summary position)."""

import json

import numpy as np
import pytest

from conftest import ROOT
from nmt.data import ReadReport, read_tatoeba
from nmt.translator import Translator

SHIPPED = sorted(p for p in (ROOT / "checkpoints").iterdir() if p.is_dir())


@pytest.mark.parametrize("folder", SHIPPED, ids=lambda p: p.name)
def test_shipped_checkpoint_is_small_and_records_its_scores(folder):
    assert sum(f.stat().st_size for f in folder.iterdir()) <= 40 * 1024 * 1024
    metrics = json.loads((folder / "metrics.json").read_text())
    assert folder.name.startswith(metrics["pair"])
    assert metrics["test"]["bleu"] > 0 and "tok:13a" in metrics["test"]["bleu_signature"]
    assert metrics["data"]["split"]["test"] == metrics["test"]["sentences"]
    assert {"epochs", "wall_seconds", "hardware"} <= set(metrics["training"])


@pytest.mark.parametrize("folder, corpus", [("fr-en", "fra-eng/fra.txt"), ("ko-en", "kor-eng/kor.txt")])
def test_attention_of_shipped_models_moves_across_the_source(folder, corpus):
    translator = Translator.load(ROOT / "checkpoints" / folder)
    pairs = list(
        read_tatoeba(ROOT.parent / "shared" / "data" / corpus, translator.config.source_lang, 300, ReadReport())
    )
    sources = [s for s, _ in pairs[::50] if len(s.split()) >= 4][:100]
    translations = translator.translate(sources, beam_size=1)
    on_ends = np.concatenate([np.isin(t.best.attention.argmax(1), [0, len(t.source_pieces) - 1]) for t in translations])
    distinct = np.mean([len(set(t.best.attention.argmax(1))) / len(t.source_pieces) for t in translations])
    assert on_ends.mean() < 0.5, "attention parks on the first or last source piece"
    assert distinct > 0.3, "attention looks at too few different source pieces"
