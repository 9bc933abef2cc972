import dataclasses
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time

import keras
import numpy as np
import pytest

from conftest import FRA, ROOT, tiny_config, train_until_scoring_fails, write_sample
from nmt.batching import Batches, encode_pairs
from nmt.data import ReadReport, read_tatoeba
from nmt.metrics import corpus_scores
from nmt.model import masked_loss
from nmt.tokenizer import Tokenizer
from nmt.translator import Translator


def test_batches_are_length_bucketed_and_padded_for_teacher_forcing():
    # Example k is source [10 + k] * n + eos and target [10 + k] * m, so every row says which example it holds.
    sizes = [(3, 2), (10, 12), (4, 4), (11, 9), (2, 3)]
    examples = [([10 + k] * n + [3], [10 + k] * m) for k, (n, m) in enumerate(sizes)]
    batches = Batches(examples, batch_tokens=16, seed=0, shuffle=True)
    shapes = set()
    for _epoch in range(3):
        seen = []
        for i in range(len(batches)):
            (source, target_input), target_output = batches[i]
            assert source.shape[1] % 8 == 0 and source.shape == target_input.shape == target_output.shape
            assert source.size <= 16 or len(source) == 1
            shapes.add(source.shape)
            for row_source, row_in, row_out in zip(source, target_input, target_output):
                if not row_source.any():
                    assert not row_in.any() and not row_out.any(), "a filler row is all padding"
                    continue
                k = int(row_source[0]) - 10
                n, m = sizes[k]
                assert max(n + 1, m + 1) <= source.shape[1] < max(n + 1, m + 1) + 8
                np.testing.assert_array_equal(row_out[: m + 1], [10 + k] * m + [3])  # reference + eos
                np.testing.assert_array_equal(row_in[: m + 1], [2] + [10 + k] * m)  # bos + reference
                seen.append(k)
        assert sorted(seen) == list(range(len(examples)))
        batches.on_epoch_end()
    # One batch shape per padded length, in every epoch: (2 rows of 8) and (1 row of 16).
    assert shapes == {(2, 8), (1, 16)}


def test_a_tiny_model_learns_a_small_real_set():
    pairs = list(read_tatoeba(FRA, "fr", 300, ReadReport()))[2000:2300]
    source_tokenizer = Tokenizer.train([s for s, _ in pairs], 556)
    target_tokenizer = Tokenizer.train([t for _, t in pairs], 506)
    examples, _ = encode_pairs(pairs, source_tokenizer, target_tokenizer, 60)
    config = tiny_config(ROOT, units=128, embedding_dim=64, dropout=0.0, label_smoothing=0.0)
    from nmt.checkpoint import Checkpoint, build_model

    keras.utils.set_random_seed(0)
    model = build_model(config, source_tokenizer, target_tokenizer)
    model.compile(optimizer=keras.optimizers.Adam(0.01), loss=masked_loss(0.0))
    # Sixty epochs of a few updates each: the 256 byte pieces, unused here, take that long to lose their
    # share of the output distribution.
    history = model.fit(Batches(examples, 2048, seed=0, shuffle=True), epochs=60, verbose=0)
    assert history.history["loss"][-1] < 0.2 * history.history["loss"][0]
    translator = Translator(Checkpoint(config, model, source_tokenizer, target_tokenizer, {}))
    hypotheses = translator.translate_texts([s for s, _ in pairs], beam_size=1)
    assert corpus_scores(hypotheses, [t for _, t in pairs]).bleu > 60


def test_trained_checkpoint_records_how_it_was_made(trained_checkpoint):
    metrics = json.loads((trained_checkpoint / "metrics.json").read_text())
    assert metrics["pair"] == "fr-en"
    assert metrics["data"]["split"]["test"] >= 100 and metrics["test"]["sentences"] == metrics["data"]["split"]["test"]
    assert 0 <= metrics["test"]["bleu"] <= 100 and "tok:13a" in metrics["test"]["bleu_signature"]
    assert metrics["training"]["epochs"] == 2 and metrics["training"]["wall_seconds"] > 0
    assert metrics["versions"]["keras"] == keras.__version__
    assert "BLEU" in (trained_checkpoint / "README.md").read_text()
    assert not trained_checkpoint.with_name("fr-en.training").exists(), "the resume state is removed when done"


def _train_command(tmp_path, *extra):
    ini = tmp_path / "config.ini"
    config = tiny_config(tmp_path, epochs=4)
    ini.write_text("[fr-en]\n" + "".join(f"{k} = {v}\n" for k, v in json.loads(config.to_json()).items()))
    return [sys.executable, str(ROOT / "train.py"), "fr-en", "--config", str(ini), *extra]


def _sha256(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_training_killed_mid_epoch_resumes_from_the_last_complete_epoch(tmp_path):
    sample = write_sample(tmp_path / "fra-sample.txt")
    before = _sha256(sample)
    state = tmp_path / "fr-en.training" / "state.json"
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    process = subprocess.Popen(_train_command(tmp_path), env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 240
    while not state.exists() and time.time() < deadline and process.poll() is None:
        time.sleep(0.2)
    assert state.exists(), "the first epoch should have saved its state"
    time.sleep(1.0)  # inside the second epoch
    process.send_signal(signal.SIGKILL)
    process.wait()
    saved = json.loads(state.read_text())
    assert saved["epoch"] >= 1 and not (tmp_path / "fr-en").exists()

    done = subprocess.run(_train_command(tmp_path, "--resume"), env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    assert f"resuming from {tmp_path / 'fr-en.training'}" in done.stdout
    metrics = json.loads((tmp_path / "fr-en" / "metrics.json").read_text())
    history = metrics["training"]["history"]
    assert [h["epoch"] for h in history] == list(range(1, len(history) + 1)) and len(history) == 4
    assert history[: saved["epoch"]] == saved["history"], "epochs before the kill are kept, not redone"
    command = metrics["training"]["command"]
    assert command.startswith("python ") and command.endswith(f"--config {tmp_path / 'config.ini'} --resume")
    assert f"`{command}`" in (tmp_path / "fr-en" / "README.md").read_text(), "the card says how to reproduce it"
    assert _sha256(sample) == before, "training never modifies its data"
    assert not list(tmp_path.glob(".*staging*"))


def test_training_killed_while_saving_state_leaves_a_loadable_state(tmp_path):
    write_sample(tmp_path / "fra-sample.txt")
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    process = subprocess.Popen(_train_command(tmp_path), env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 240
    # Kill as soon as a staging folder appears: the state is being written at that moment.
    while time.time() < deadline and process.poll() is None and not list(tmp_path.glob(".fr-en.training.staging-*")):
        time.sleep(0.005)
    process.send_signal(signal.SIGKILL)
    process.wait()
    state_dir = tmp_path / "fr-en.training"
    if state_dir.exists():  # an earlier complete state, never a half-written one
        assert {p.name for p in state_dir.iterdir()} >= {"state.json", "last.h5", "best.h5", "optimizer.npz"}
    done = subprocess.run(_train_command(tmp_path, "--resume"), env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    assert (tmp_path / "fr-en" / "weights.h5").is_file()


def test_bad_configuration_is_a_clear_error_not_a_traceback(tmp_path):
    done = subprocess.run(
        [sys.executable, str(ROOT / "train.py"), "fr-en", "--units", "many"],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
    )
    assert done.returncode == 2 and "units: expected int" in done.stderr and "Traceback" not in done.stderr
    done = subprocess.run(
        [
            sys.executable,
            str(ROOT / "train.py"),
            "fr-en",
            "--data",
            str(tmp_path / "none.txt"),
            "--output",
            str(tmp_path / "out"),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
    )
    assert done.returncode == 1 and "none.txt: no such corpus file" in done.stderr and "Traceback" not in done.stderr


def test_a_run_that_stopped_but_failed_while_scoring_resumes_without_training_more(tmp_path, monkeypatch):
    from nmt import training

    write_sample(tmp_path / "fra-sample.txt", lines=1000)
    config = tiny_config(tmp_path, epochs=5, max_minutes=1e-6)  # the budget stops it after one step
    train_until_scoring_fails(config, monkeypatch)
    state = json.loads((tmp_path / "fr-en.training" / "state.json").read_text())
    assert (state["epoch"], state["step"]) == (0, 1), "the budget is checked between steps"

    assert state["replicas"] == 1, "the state says how many devices set its batches"
    on_two = {**state, "replicas": 2}
    (tmp_path / "fr-en.training" / "state.json").write_text(json.dumps(on_two))
    with pytest.raises(ValueError, match="started on 2 devices, which set its batches; resume it on as many"):
        training.train(config, resume=True)
    (tmp_path / "fr-en.training" / "state.json").write_text(json.dumps(state))

    training.train(config, resume=True)
    metrics = json.loads((tmp_path / "fr-en" / "metrics.json").read_text())["training"]
    assert metrics["history"] == [] and metrics["epochs"] == 0, "the stopped run is scored, not trained further"
    assert metrics["replicas"] == 1


def test_a_run_stopped_inside_an_epoch_resumes_at_that_step(tmp_path, monkeypatch, capsys):
    from nmt import training

    write_sample(tmp_path / "fra-sample.txt", lines=1000)
    config = tiny_config(tmp_path, epochs=2, max_minutes=1e-6)
    train_until_scoring_fails(config, monkeypatch)
    assert "stopping at step 1 of epoch 1: time budget" in capsys.readouterr().out

    training.train(dataclasses.replace(config, max_minutes=0.0), resume=True)
    assert "resuming epoch 1 at step 2" in capsys.readouterr().out
    history = json.loads((tmp_path / "fr-en" / "metrics.json").read_text())["training"]["history"]
    assert [h["epoch"] for h in history] == [1, 2]


def test_ctrl_c_stops_after_the_step_with_the_state_saved_and_resume_goes_on(tmp_path, monkeypatch, capsys):
    from nmt import fitting, training

    write_sample(tmp_path / "fra-sample.txt", lines=1000)
    config = tiny_config(tmp_path, epochs=2)
    handler_before = signal.getsignal(signal.SIGINT)
    batch_end = fitting.Progress.on_train_batch_end

    handler_after_first = []

    def ctrl_c_during_step_3(self, batch, logs=None):
        if self.state["epoch"] == 0 and batch == 2:
            os.kill(os.getpid(), signal.SIGINT)
            handler_after_first.append(signal.getsignal(signal.SIGINT))
        batch_end(self, batch, logs)

    monkeypatch.setattr(fitting.Progress, "on_train_batch_end", ctrl_c_during_step_3)
    with pytest.raises(fitting.Interrupted, match="interrupted at step 3 of epoch 1"):
        training.train(config)
    assert handler_after_first == [handler_before], "while it stops, a second Ctrl-C acts as usual"
    state = json.loads((tmp_path / "fr-en.training" / "state.json").read_text())
    assert (state["epoch"], state["step"]) == (0, 3)
    assert not (tmp_path / "fr-en").exists(), "an interrupted run is neither scored nor written out"

    monkeypatch.undo()
    training.train(config, resume=True)
    assert "resuming epoch 1 at step 4" in capsys.readouterr().out
    history = json.loads((tmp_path / "fr-en" / "metrics.json").read_text())["training"]["history"]
    assert [h["epoch"] for h in history] == [1, 2]
    assert signal.getsignal(signal.SIGINT) is handler_before, "a finished run leaves Ctrl-C as it was"


def test_a_run_resumes_in_the_precision_it_started_in_whatever_auto_picks_now(tmp_path, monkeypatch, capsys):
    from nmt import training

    write_sample(tmp_path / "fra-sample.txt", lines=1000)
    config = tiny_config(tmp_path, epochs=1, precision="auto", max_minutes=1e-6)
    monkeypatch.setattr(training, "training_policy", lambda requested: "float32" if requested == "auto" else requested)
    train_until_scoring_fails(config, monkeypatch)
    assert "stopping at step 1 of epoch 1" in capsys.readouterr().out

    # Elsewhere "auto" picks another policy: the state's precision decides, and the message says how.
    monkeypatch.setattr(
        training, "training_policy", lambda requested: "mixed_bfloat16" if requested == "auto" else requested
    )
    resumed = dataclasses.replace(config, max_minutes=0.0)
    with pytest.raises(ValueError, match=r"resume it in the same precision \(--precision float32\)"):
        training.train(resumed, resume=True)
    training.train(dataclasses.replace(resumed, precision="float32"), resume=True)
    assert "resuming epoch 1 at step 2" in capsys.readouterr().out


def test_a_run_resumes_from_another_working_directory_but_not_on_other_data(tmp_path, monkeypatch, capsys):
    from nmt import training

    write_sample(tmp_path / "fra-sample.txt", lines=1000)
    monkeypatch.chdir(tmp_path)
    config = tiny_config(tmp_path, epochs=1, max_minutes=1e-6, data="fra-sample.txt", output="fr-en")
    train_until_scoring_fails(config, monkeypatch)
    assert "stopping at step 1 of epoch 1" in capsys.readouterr().out

    (tmp_path / "elsewhere").mkdir()
    monkeypatch.chdir(tmp_path / "elsewhere")
    resumed = dataclasses.replace(config, max_minutes=0.0, data="../fra-sample.txt", output="../fr-en")
    shutil.copy(tmp_path / "fra-sample.txt", "fra-sample.txt")
    with pytest.raises(ValueError, match="was started with a different configuration"):
        training.train(dataclasses.replace(resumed, data="fra-sample.txt"), resume=True)
    training.train(resumed, resume=True)
    assert "resuming epoch 1 at step 2" in capsys.readouterr().out
    assert (tmp_path / "fr-en" / "weights.h5").is_file()


def test_a_run_that_fails_leaves_ctrl_c_as_it_was(tmp_path, monkeypatch):
    from nmt import fitting, training

    write_sample(tmp_path / "fra-sample.txt", lines=1000)
    handler_before = signal.getsignal(signal.SIGINT)

    def disk_full(self):
        raise OSError("No space left on device")

    monkeypatch.setattr(fitting.Progress, "_save", disk_full)
    with pytest.raises(OSError, match="No space left"):
        training.train(tiny_config(tmp_path, epochs=1))
    assert signal.getsignal(signal.SIGINT) is handler_before


def test_each_epoch_has_its_own_order_whatever_came_before():
    examples = [([5] * (1 + i % 20) + [3], [6] * (1 + i % 17)) for i in range(400)]
    walked = Batches(examples, 64, seed=3, shuffle=True)
    for _ in range(2):
        walked.on_epoch_end()
    assert walked.batches == Batches(examples, 64, seed=3, shuffle=True, epoch=2).batches
    assert walked.batches != Batches(examples, 64, seed=3, shuffle=True, epoch=1).batches
    resumed = Batches(examples, 64, seed=3, shuffle=True, epoch=2)
    resumed.on_epoch_end()  # Keras calls it when a fit starts: an epoch's own batches stay
    assert resumed.batches == walked.batches
    resumed.skip(5)
    assert sorted(resumed.batches) == sorted(walked.batches[5:]), "exactly the batches not yet trained"
    assert resumed.batches[0][0] != resumed.batches[1][0], "another length second, for the input signature"


def test_training_only_corpora_join_training_and_never_bring_a_held_out_english_sentence(tmp_path):
    """`train_data` leaves validation and test as they were and drops any pair whose English is held out."""
    import dataclasses
    from pathlib import Path

    from conftest import KOR, NEWS
    from nmt.config import Config
    from nmt.training import read_split

    plain_config = Config(source_lang="ko", target_lang="en", data=str(KOR), valid_size=400, test_size=500)
    plain, _ = read_split(plain_config)
    korean, english = (Path(f"{NEWS}.{lang}").read_text(encoding="utf-8").splitlines()[:5] for lang in ("ko", "en"))
    news = [(ko.strip(), en.strip()) for ko, en in zip(korean, english)]
    held_out_english = plain.test[7][1]
    extra = tmp_path / "extra"
    extra.with_suffix(".ko").write_text("\n".join([ko for ko, _ in news] + ["다른 번역."]) + "\n", encoding="utf-8")
    extra.with_suffix(".en").write_text("\n".join([en for _, en in news] + [held_out_english]) + "\n", encoding="utf-8")

    split, reports = read_split(dataclasses.replace(plain_config, train_data=str(extra)))

    assert split.valid == plain.valid and split.test == plain.test
    assert split.train == plain.train + news
    assert reports[str(extra)]["kept"] == 6  # read, then the held-out sentence's pair left out


def test_the_checkpoint_records_the_attention_of_held_out_sentences_after_every_epoch(trained_checkpoint):
    record = json.loads((trained_checkpoint / "metrics.json").read_text())["training"]["attention_by_epoch"]
    assert 1 <= len(record["sentences"]) <= 3 and [e["epoch"] for e in record["epochs"]] == [1, 2]
    for epoch in record["epochs"]:
        assert len(epoch["attention"]) == len(record["sentences"])
        for sentence, attention in zip(record["sentences"], epoch["attention"]):
            matrix = np.asarray(attention)
            assert matrix.shape == (len(sentence["target_tokens"]), len(sentence["source_tokens"]))
            np.testing.assert_allclose(matrix.sum(1), 1.0, atol=5e-3)
    first, last = (np.asarray(e["attention"][0]) for e in (record["epochs"][0], record["epochs"][-1]))
    assert not np.array_equal(first, last), "the weights of each epoch, not one copy"
    assert record["sentences"][0]["source_tokens"][-1] == "</s>" == record["sentences"][0]["target_tokens"][-1]


def test_a_streamed_run_trains_each_epoch_on_the_next_chunk_and_resumes_inside_one(tmp_path, monkeypatch, capsys):
    from nmt import training
    from nmt.data import PairStream

    write_sample(tmp_path / "fra-sample.txt", lines=1000)
    config = tiny_config(tmp_path, epochs=3, stream_pairs=300, max_minutes=1e-6)
    train_until_scoring_fails(config, monkeypatch)
    out = capsys.readouterr().out
    assert "streamed (seed 1234)" in out and "stopping at step 1 of epoch 1" in out

    encoded = []
    encode = training.TrainingExamples._encode
    monkeypatch.setattr(
        training.TrainingExamples, "_encode", lambda self, pairs: encoded.append(pairs) or encode(self, pairs)
    )
    training.train(dataclasses.replace(config, max_minutes=0.0), resume=True)
    assert "resuming epoch 1 at step 2" in capsys.readouterr().out
    stream = training.read_split(config)[0].train
    assert isinstance(stream, PairStream) and stream.pairs_per_pass == 1000 - 200
    passes = list(stream) * 2
    assert encoded == [passes[:300], passes[300:600], passes[600:900]], "each epoch trains the next 300 pairs"
    metrics = json.loads((tmp_path / "fr-en" / "metrics.json").read_text())
    assert [h["epoch"] for h in metrics["training"]["history"]] == [1, 2, 3]
    assert metrics["data"]["split"]["train"] == 800 and 0 < metrics["data"]["train_pairs_used"] <= 300


def test_a_streamed_corpus_25_times_larger_trains_in_about_the_same_memory(tmp_path):
    from bench.stream_memory import SETTINGS, peak_rss_mb, write_corpus

    settings = {**SETTINGS, "stream_pairs": 2000, "tokenizer_sample": 10_000, "valid_size": 100, "test_size": 100}
    small, _ = peak_rss_mb(write_corpus(tmp_path / "small.txt", 20_000), tmp_path, settings)
    large, _ = peak_rss_mb(write_corpus(tmp_path / "large.txt", 500_000), tmp_path, settings)
    print(f"peak resident memory: {small:.0f} MB for 20k pairs, {large:.0f} MB for 500k")
    assert large < small + 50, "holding the 500k pairs alone would take over 100 MB more"
