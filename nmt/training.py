"""Training: corpus → tokenizers → length-bucketed batches → teacher-forced fit → scored checkpoint.

Progress survives interruption: after every epoch the full training state (weights, optimizer, best
weights, counters, tokenizers) is written atomically to ``<output>.training/``, and ``resume`` continues
from there. The finished checkpoint replaces ``<output>`` atomically, and the state folder is removed.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import platform
import random
import shutil
import tempfile
import time
from pathlib import Path

import keras
import numpy as np

from nmt import checkpoint as ckpt
from nmt.alignment import guide_alignments, piece_links
from nmt.config import Config
from nmt.data import ReadReport, Split, english_group, read_corpus, split_by_english
from nmt.metrics import corpus_scores
from nmt.model import guided_alignment_loss, masked_loss
from nmt.tokenizer import BOS_ID, EOS_ID, Tokenizer
from nmt.translator import Translator

# Layers whose role is the same in any model translating into the same language: the English side.
TARGET_SIDE_LAYERS = ("target_embedding", "attention", "attentional_layer", "output_projection")


def log(message: str) -> None:
    print(message, flush=True)


# --------------------------------------------------------------------------------------------------
# Data


def _read_corpora(specs: str, config: Config, reports: dict) -> list:
    pairs = []
    for spec in filter(None, (s.strip() for s in specs.split(","))):
        report = ReadReport()
        pairs.extend(read_corpus(spec, config.source_lang, config.target_lang, config.max_chars, report))
        log(f"{spec}: {report}")
        reports[spec] = {"kept": report.kept, "skipped": dict(report.skipped)}
    return pairs


def read_split(config: Config) -> tuple[Split, dict]:
    """Reads every corpus in ``config.data`` and splits by English sentence, then adds the
    ``config.train_data`` corpora to the training split (less any pair whose English sentence is held
    out); returns the split and a report per corpus."""
    reports: dict = {}
    pairs = _read_corpora(config.data, config, reports)
    if not pairs:
        raise ValueError("no training data: set `data` in config.ini or pass --data FILE")
    english_side = 0 if config.source_lang == "en" else 1
    split = split_by_english(pairs, english_side, config.valid_size, config.test_size, config.seed)
    log(
        f"split by English sentence (seed {config.seed}): "
        f"{len(split.train)} train, {len(split.valid)} valid, {len(split.test)} test"
    )
    if config.train_data:
        held_out = {english_group(pair, english_side) for pair in split.valid + split.test}
        extra = _read_corpora(config.train_data, config, reports)
        kept = [pair for pair in extra if english_group(pair, english_side) not in held_out]
        split.train.extend(kept)
        log(f"training only: {len(kept)} pairs added ({len(extra) - len(kept)} share an English sentence held out)")
    return split, reports


def encode_pairs(
    pairs, source_tokenizer: Tokenizer, target_tokenizer: Tokenizer, max_pieces: int, guides=None, langs=("fr", "en")
):
    """(source ids + eos, target ids) for pairs within `max_pieces`; also returns how many were too long.

    With `guides` (one word alignment per pair of the `langs` languages, from
    :func:`nmt.alignment.guide_alignments`) each example also carries its (target piece, source
    piece) links, for guided alignment.
    """
    examples, too_long = [], 0
    for n, (source, target) in enumerate(pairs):
        source_ids, target_ids = source_tokenizer.encode(source), target_tokenizer.encode(target)
        if len(source_ids) > max_pieces or len(target_ids) > max_pieces:
            too_long += 1
            continue
        example = (source_ids + [EOS_ID], target_ids)
        if guides is not None:
            example += (piece_links((source_tokenizer, target_tokenizer), (source, target), langs, guides[n]),)
        examples.append(example)
    return examples, too_long


def _padded_length(length: int) -> int:
    """Lengths round up to a multiple of 8, so a compiled training step sees few distinct shapes."""
    return 8 * math.ceil(length / 8)


def teacher_forcing_arrays(examples, length: int, rows: int | None = None, guided: bool = False):
    """(source ids, target ids) pairs → ((source (B, L), target input (B, L)), target output (B, L)), 0-padded.

    Target input is bos + reference and target output is reference + eos: teacher forcing. B is
    `rows` (default: one per example); rows past the examples stay all padding, which the loss ignores.
    With `guided`, the target is (target output, target alignment (B, L, L)): each target piece's
    linked source pieces, uniformly (all zeros for a piece without links, and for examples without).
    """
    rows = len(examples) if rows is None else rows
    source = np.zeros((rows, length), np.int32)
    target_input = np.zeros((rows, length), np.int32)
    target_output = np.zeros((rows, length), np.int32)
    for r, (s, t, *_) in enumerate(examples):
        source[r, : len(s)] = s
        target_input[r, : len(t) + 1] = [BOS_ID] + t
        target_output[r, : len(t) + 1] = t + [EOS_ID]
    if not guided:
        return (source, target_input), target_output
    alignment = np.zeros((rows, length, length), np.float32)
    for r, example in enumerate(examples):
        for t, s in example[2] if len(example) > 2 else ():
            alignment[r, t, s] = 1.0
    totals = alignment.sum(-1, keepdims=True)
    return (source, target_input), (target_output, np.divide(alignment, totals, where=totals > 0, out=alignment))


def _another_length_second(batches: list) -> list:
    """Keras derives the TensorFlow input signature from the first two batches, keeping only the
    dimensions in which they differ as variable: puts a batch of another length second."""
    other = next((i for i, (length, _) in enumerate(batches) if length != batches[0][0]), None)
    if other is not None:
        batches[1], batches[other] = batches[other], batches[1]
    return batches


class Batches(keras.utils.PyDataset):
    """Length-bucketed batches of about `batch_tokens` padded tokens, reshuffled every epoch.

    Each item is ``((source_ids (B, L), target_input_ids (B, L)), target_output_ids (B, L))`` where
    target input is bos + reference and target output is reference + eos. Examples are grouped by
    padded length L (a multiple of 8, shared by source and target), and every batch of a group has the
    same B, the last one filled up with empty rows: so a compiled training step sees the same few
    shapes in every epoch (JAX compiles once per shape).
    """

    def __init__(self, examples, batch_tokens: int, seed: int, shuffle: bool, guided: bool = False, epoch=None):
        super().__init__()
        self.examples, self.shuffle, self.guided = examples, shuffle, guided
        # Each epoch's order follows from the seed and the epoch number alone. Given `epoch`, the
        # batches are that epoch's and stay so (one fit per epoch, as train() runs, so a run resumed
        # at a step sees exactly the rest of its epoch); without, they are reshuffled at every epoch's
        # end (Keras also calls on_epoch_end when a fit starts).
        self.seed, self.fixed, self.epoch = seed, epoch is not None, epoch or 0
        groups: dict[int, list[int]] = {}
        for i, (source, target, *_) in enumerate(examples):
            groups.setdefault(_padded_length(max(len(source), len(target) + 1)), []).append(i)
        self.groups = dict(sorted(groups.items()))
        # A small group is one batch of its own size, not one padded out to batch_tokens.
        self.rows = {length: min(len(group), max(1, batch_tokens // length)) for length, group in self.groups.items()}
        self.batches = self._make_batches()

    def _make_batches(self) -> list[tuple[int, list[int]]]:
        """(padded length, example indices) per batch of this epoch."""
        rng = random.Random(self.seed * 100_003 + self.epoch)
        batches = []
        for length, group in self.groups.items():
            group = rng.sample(group, len(group)) if self.shuffle else group
            rows = self.rows[length]
            batches.extend((length, group[start : start + rows]) for start in range(0, len(group), rows))
        if self.shuffle:
            rng.shuffle(batches)
        return _another_length_second(batches)

    def __len__(self):
        return len(self.batches)

    def __getitem__(self, index):
        length, batch = self.batches[index]
        return teacher_forcing_arrays([self.examples[i] for i in batch], length, self.rows[length], self.guided)

    def on_epoch_end(self):
        if not self.fixed:
            self.epoch += 1
            if self.shuffle:
                self.batches = self._make_batches()

    def skip(self, steps: int) -> None:
        """Leaves out the first `steps` batches of this epoch (a resumed run has trained them)."""
        self.batches = _another_length_second(self.batches[steps:])


# --------------------------------------------------------------------------------------------------
# Resumable progress


class Progress(keras.callbacks.Callback):
    """Keeps the best weights by validation loss, halves the learning rate when it stalls, stops after
    `patience` epochs without improvement or, between any two steps, past the time budget, and saves
    all of it every epoch and when it stops.

    ``state["step"]`` counts the batches trained of the epoch after ``state["epoch"]`` complete ones
    (0 at an epoch's end); a resumed run starts that many batches into the epoch.
    """

    def __init__(self, state_dir: Path, config: Config, tokenizers, start: dict | None, best_weights=None):
        super().__init__()
        self.state_dir, self.config, self.tokenizers = state_dir, config, tokenizers
        self.state = start or {"epoch": 0, "best_loss": None, "best_epoch": 0, "wait": 0, "seconds": 0.0, "history": []}
        self.state.setdefault("step", 0)
        self.best_weights = best_weights
        self.stopped_at_step = 0

    def on_train_begin(self, logs=None):
        self.started = time.time() - self.state["seconds"]

    def on_train_batch_end(self, batch, logs=None):
        last = batch + 1 >= self.params["steps"]  # then the epoch ends anyway, and on_epoch_end stops it
        if not last and self.over_budget(time.time() - self.started) and not self.model.stop_training:
            self.stopped_at_step = self.state["step"] + batch + 1
            self.model.stop_training = True

    def on_epoch_end(self, epoch, logs=None):
        loss = float(logs["val_loss"])
        state = self.state
        state["seconds"] = time.time() - self.started
        if self.stopped_at_step:
            # Stopped inside the epoch, which is not complete: neither the epoch count, the best
            # weights nor patience move. Before any complete epoch, these weights stand in as the best
            # (without a best loss, so the first complete epoch replaces them).
            state["step"] = self.stopped_at_step
            log(f"stopping at step {state['step']} of epoch {epoch + 1}: {self.stop_reason()}")
            if self.best_weights is None:
                self.best_weights = self.model.get_weights()
            self._save()
            return
        state.update(epoch=epoch + 1, step=0)
        state["history"].append(
            {
                "epoch": epoch + 1,
                "loss": float(logs["loss"]),
                "val_loss": loss,
                "learning_rate": float(self.model.optimizer.learning_rate.numpy()),
            }
        )
        if state["best_loss"] is None or loss < state["best_loss"]:
            state.update(best_loss=loss, best_epoch=epoch + 1, wait=0)
            self.best_weights = self.model.get_weights()
        else:
            state["wait"] += 1
            learning_rate = self.model.optimizer.learning_rate
            learning_rate.assign(learning_rate * 0.5)
            log(f"validation loss did not improve; learning rate halved to {float(learning_rate.numpy()):.2e}")
        reason = self.stop_reason()
        if reason:
            log(f"stopping: {reason}")
            self.model.stop_training = True
        self._save()

    def over_budget(self, seconds: float) -> bool:
        return bool(self.config.max_minutes) and seconds > 60 * self.config.max_minutes

    def stop_reason(self) -> str:
        """Why training should not go on ("" if it should): patience or the time budget used up."""
        if self.state["wait"] >= self.config.patience:
            return f"no improvement for {self.state['wait']} epochs"
        if self.over_budget(self.state["seconds"]):
            return f"time budget of {self.config.max_minutes} minutes reached"
        return ""

    def _save(self):
        staging = Path(tempfile.mkdtemp(prefix=f".{self.state_dir.name}.staging-", dir=self.state_dir.parent))
        try:
            ckpt.write_weights(self.model, staging / "last.h5", dtype="float32")
            best = self.model.get_weights()
            self.model.set_weights(self.best_weights)
            ckpt.write_weights(self.model, staging / "best.h5", dtype="float32")
            self.model.set_weights(best)
            with open(staging / "optimizer.npz", "wb") as f:
                np.savez(f, *[np.asarray(v) for v in self.model.optimizer.variables])
            self.tokenizers[0].save(staging / ckpt.SOURCE_SPM)
            self.tokenizers[1].save(staging / ckpt.TARGET_SPM)
            (staging / "config.json").write_text(self.config.to_json(), encoding="utf-8")
            (staging / "state.json").write_text(json.dumps(self.state, indent=2), encoding="utf-8")
            ckpt.replace_directory(staging, self.state_dir)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise


def _read_best(state_dir: Path, model):
    current = model.get_weights()
    ckpt.read_weights(model, state_dir / "best.h5")
    best = model.get_weights()
    model.set_weights(current)
    return best


def _restore_optimizer(state_dir: Path, model, optimizer) -> None:
    optimizer.build(model.trainable_variables)
    with np.load(state_dir / "optimizer.npz", allow_pickle=False) as stored:
        values = [stored[f"arr_{i}"] for i in range(len(stored.files))]
    if len(values) != len(optimizer.variables):
        raise ckpt.CheckpointError(f"{state_dir / 'optimizer.npz'}: does not match this model's optimizer")
    for variable, value in zip(optimizer.variables, values):
        variable.assign(value)


def _fit(model, progress: Progress, make_batches, valid_batches: Batches, until: int) -> None:
    """Trains up to epoch `until`, one fit per epoch on that epoch's batches (`make_batches(epoch)`),
    first finishing an epoch that a resumed run had stopped inside."""
    while progress.state["epoch"] < until:
        epoch, step = progress.state["epoch"], progress.state["step"]
        batches = make_batches(epoch)
        if step:
            log(f"resuming epoch {epoch + 1} at step {step + 1}")
            batches.skip(step)
        model.fit(batches, validation_data=valid_batches, epochs=epoch + 1, initial_epoch=epoch, callbacks=[progress])
        if model.stop_training:  # patience or the budget; the next fit would reset it
            return


def _learning_rate(config: Config, state: dict) -> float:
    """The learning rate for the next epoch: the last epoch's, halved if it did not improve."""
    if not state["history"]:
        return config.learning_rate
    return state["history"][-1]["learning_rate"] * (0.5 if state["wait"] else 1.0)


# --------------------------------------------------------------------------------------------------
# Transfer


def transfer_from(parent_dir, model, target_tokenizer: Tokenizer, config: Config) -> list[str]:
    """Initialises the target-side layers (embeddings, decoder LSTMs, attention, attentional layer,
    output projection) from a parent checkpoint that translates into the same language with the same
    target vocabulary, and the encoder LSTMs too with ``transfer_encoder``. Returns the names of the
    layers copied."""
    parent = ckpt.load_checkpoint(parent_dir)
    if parent.config.target_lang != config.target_lang:
        raise ValueError(
            f"{parent_dir} translates into {parent.config.target_lang!r}, this model into {config.target_lang!r}: "
            "only the target side transfers, so both must translate into the same language"
        )
    if parent.target_tokenizer.model_proto != target_tokenizer.model_proto:
        raise ValueError(f"{parent_dir}: its target SentencePiece model differs from this model's")
    names = set(TARGET_SIDE_LAYERS) | {layer.name for layer in model.decoder_layers}
    if config.transfer_encoder:
        names |= {layer.name for layer in model.encoder_layers}
    parent_path = Path(parent_dir) / ckpt.WEIGHTS
    return ckpt.read_weights(model, parent_path, only=names)


# --------------------------------------------------------------------------------------------------
# The whole run


def hardware() -> str:
    if keras.backend.backend() == "jax":
        import jax

        return f"{jax.devices()[0].device_kind} ({jax.default_backend()}), {os.cpu_count()} CPU cores"
    return f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPU cores, no accelerator"


def versions() -> dict:
    import sacrebleu
    import sentencepiece

    found = {
        "python": platform.python_version(),
        "keras": keras.__version__,
        "backend": keras.backend.backend(),
        "sentencepiece": sentencepiece.__version__,
        "sacrebleu": sacrebleu.__version__,
    }
    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        found["tensorflow"] = tf.__version__
    return found


def train(config: Config, resume: bool = False, command: str = "") -> Path:
    """Trains, scores on the test split, and writes the checkpoint folder ``config.output``.

    `command` is the command line that started the run, recorded in the metrics and the model card.
    """
    keras.utils.set_random_seed(config.seed)
    output = Path(config.output)
    state_dir = output.with_name(output.name + ".training")
    output.parent.mkdir(parents=True, exist_ok=True)
    split, reports = read_split(config)

    if resume and state_dir.is_dir():
        saved = Config.from_dict(json.loads((state_dir / "config.json").read_text(encoding="utf-8")))
        if dataclasses.replace(saved, epochs=config.epochs, max_minutes=config.max_minutes) != config:
            raise ValueError(f"{state_dir}: was started with a different configuration; resume with the same one")
        tokenizers = (Tokenizer.load(state_dir / ckpt.SOURCE_SPM), Tokenizer.load(state_dir / ckpt.TARGET_SPM))
        log(f"resuming from {state_dir}")
    else:
        if resume:
            log(f"nothing to resume at {state_dir}; starting afresh")
        source_tokenizer = Tokenizer.train((s for s, _ in split.train), config.source_vocab_size)
        if config.init_from:
            target_tokenizer = ckpt.load_checkpoint(config.init_from).target_tokenizer
            log(f"target tokenizer taken from the parent {config.init_from}")
        else:
            target_tokenizer = Tokenizer.train((t for _, t in split.train), config.target_vocab_size)
        tokenizers = (source_tokenizer, target_tokenizer)
    log(f"vocabularies: {tokenizers[0].vocab_size} source pieces, {tokenizers[1].vocab_size} target pieces")

    guides, langs = None, (config.source_lang, config.target_lang)
    if config.guided_alignment:
        cache = output.with_name(output.name + ".guide-links")
        log(f"guided alignment: eflomal's alignments of the training pairs (computed once, kept in {cache})")
        guides = guide_alignments(split.train, langs, cache)
    train_examples, too_long = encode_pairs(split.train, *tokenizers, config.max_pieces, guides, langs)
    valid_examples, _ = encode_pairs(split.valid, *tokenizers, config.max_pieces)
    log(f"{len(train_examples)} training pairs ({too_long} skipped: over {config.max_pieces} pieces)")
    # Validation examples carry no alignment, so the validation loss is the translation loss alone.
    guided = bool(config.guided_alignment)
    valid_batches = Batches(valid_examples, config.batch_tokens, config.seed, shuffle=False, guided=guided)

    model = ckpt.build_model(config, *tokenizers)
    resuming = resume and state_dir.is_dir()
    start = best_weights = None
    if resuming:
        start = json.loads((state_dir / "state.json").read_text(encoding="utf-8"))
        ckpt.read_weights(model, state_dir / "last.h5")
        best_weights = _read_best(state_dir, model)
        transferred = start["transferred_layers"]
    elif config.init_from:
        transferred = transfer_from(config.init_from, model, tokenizers[1], config)
        log(f"initialised from {config.init_from}: {', '.join(transferred)}")
    else:
        transferred = []
    progress = Progress(state_dir, config, tokenizers, start, best_weights)

    def train_batches(epoch: int) -> Batches:
        return Batches(train_examples, config.batch_tokens, config.seed, shuffle=True, guided=guided, epoch=epoch)

    progress.state.setdefault("transferred_layers", transferred)
    log(f"{model.count_params():,} parameters; training on {hardware()}")

    # Frozen epochs first (if any), then all layers. Each phase has its own optimizer, since Adam's
    # state belongs to the variables it trains. A resumed run that had already stopped (it was
    # interrupted while scoring) runs neither and only finishes.
    frozen_until = min(config.freeze_transferred_epochs, config.epochs) if transferred else 0
    for until, frozen in ((frozen_until, True), (config.epochs, False)):
        epoch = progress.state["epoch"]
        if epoch >= until or progress.stop_reason():
            continue
        for layer in model.layers:
            if layer.name in transferred:
                layer.trainable = not frozen
        if frozen:
            log(f"epochs 1-{until}: the transferred layers stay as the parent trained them")
        optimizer = keras.optimizers.Adam(_learning_rate(config, progress.state), clipnorm=5.0)
        # The saved optimizer is this phase's unless the run stopped right after the frozen epochs.
        if resuming and not (frozen_until and epoch == frozen_until and not progress.state["step"]):
            _restore_optimizer(state_dir, model, optimizer)
        resuming = False
        if guided:
            model.compile(
                optimizer=optimizer,
                loss=[masked_loss(config.label_smoothing), guided_alignment_loss],
                loss_weights=[1.0, config.guided_alignment],
            )
        else:
            model.compile(optimizer=optimizer, loss=masked_loss(config.label_smoothing))
        _fit(model, progress, train_batches, valid_batches, until)
    model.set_weights(progress.best_weights)
    state = progress.state
    tokens_per_s = sum(len(e[1]) + 1 for e in train_examples) * state["epoch"] / max(state["seconds"], 1e-9)
    log(
        f"trained {state['epoch']} epochs in {state['seconds'] / 60:.1f} min "
        f"({tokens_per_s:,.0f} target tokens/s); best validation loss "
        + (
            f"{state['best_loss']:.4f} at epoch {state['best_epoch']}"
            if state["best_loss"]
            else "none (no complete epoch)"
        )
    )

    # Score what will be shipped: the weights rounded to the checkpoint's float16.
    model.set_weights([w.astype(np.float16).astype(w.dtype) for w in model.get_weights()])
    checkpoint = ckpt.Checkpoint(config, model, *tokenizers, metrics={})
    metrics = {
        "pair": config.pair,
        "test": score_test_split(Translator(checkpoint), split.test, config.beam_size),
        "data": {
            "corpora": reports,
            "seed": config.seed,
            "split": {"train": len(split.train), "valid": len(split.valid), "test": len(split.test)},
            "train_pairs_used": len(train_examples),
        },
        "training": {
            "epochs": state["epoch"],
            "best_epoch": state["best_epoch"],
            "best_valid_loss": state["best_loss"],
            "wall_seconds": round(state["seconds"], 1),
            "target_tokens_per_second": round(tokens_per_s),
            "hardware": hardware(),
            "command": command,
            "parameters": model.count_params(),
            "history": state["history"],
            "init_from": config.init_from or None,
            "transferred_layers": state["transferred_layers"],
        },
        "versions": versions(),
    }
    checkpoint.metrics = metrics
    checkpoint.examples = pick_examples(split.test)
    ckpt.save_checkpoint(output, checkpoint, model_card(config, metrics))
    log(f"checkpoint written to {output}")
    if (
        progress.over_budget(state["seconds"])
        and state["epoch"] < config.epochs
        and not state["wait"] >= config.patience
    ):
        log(f"the time budget stopped it: its state stays in {state_dir}; --resume with more --max-minutes goes on")
    else:
        shutil.rmtree(state_dir, ignore_errors=True)
    if config.push_to_hub:
        push_to_hub(output, config.push_to_hub)
    return output


LONG_SENTENCE_WORDS = 8  # references of at least this many words are also scored on their own


def score_test_split(translator: Translator, test_pairs, beam_size: int) -> dict:
    """Corpus BLEU and chrF on the test split, greedy and with the default beam, on the whole split
    and on its pairs whose reference has at least LONG_SENTENCE_WORDS words.

    Every pair is scored; ``longer_than_training`` counts the sources beyond ``max_pieces``, the
    longest that training used (the translator reads up to twice that many).
    """
    sources, references = [s for s, _ in test_pairs], [t for _, t in test_pairs]
    long = [i for i, reference in enumerate(references) if len(reference.split()) >= LONG_SENTENCE_WORDS]
    max_pieces = translator.config.max_pieces
    scores = {
        "sentences": len(test_pairs),
        "long_sentences": len(long),
        "longer_than_training": sum(len(translator.source_tokenizer.encode(s)) > max_pieces for s in sources),
    }
    for name, beam in (("greedy", 1), (f"beam{beam_size}", beam_size)):
        started = time.time()
        hypotheses = translator.translate_texts(sources, beam)
        seconds = round(time.time() - started, 1)
        result = corpus_scores(hypotheses, references)
        scores[name] = {"bleu": round(result.bleu, 2), "chrf": round(result.chrf, 2), "seconds": seconds, "long": None}
        message = f"test {name}: BLEU {result.bleu:.2f}, chrF {result.chrf:.2f} on {len(test_pairs)} sentences"
        if long:
            on_long = corpus_scores([hypotheses[i] for i in long], [references[i] for i in long])
            scores[name]["long"] = {"bleu": round(on_long.bleu, 2), "chrf": round(on_long.chrf, 2)}
            message += f"; BLEU {on_long.bleu:.2f} on the {len(long)} of {LONG_SENTENCE_WORDS}+ words"
        log(message)
        scores["bleu_signature"], scores["chrf_signature"] = result.bleu_signature, result.chrf_signature
    best = scores[f"beam{beam_size}"]
    scores["bleu"], scores["chrf"] = best["bleu"], best["chrf"]
    scores["long_bleu"] = best["long"]["bleu"] if long else None
    return scores


def pick_examples(test_pairs, count: int = 3) -> list[dict]:
    """A few held-out pairs of everyday length with different references, for the app's examples."""
    chosen: dict[str, str] = {}
    for source, target in test_pairs:
        if 25 <= len(source) <= 70 and target not in chosen and len(chosen) < count:
            chosen[target] = source
    return [{"source": source, "reference": target} for target, source in chosen.items()]


def model_card(config: Config, metrics: dict) -> str:
    test, training, split = metrics["test"], metrics["training"], metrics["data"]["split"]
    feeding = "on" if config.input_feeding else "off"
    return f"""# {config.pair} LSTM + Luong attention

Translates {config.source_lang} → {config.target_lang}. Trained with `{training["command"] or "nmt.training.train"}`.

| | |
|---|---|
| test BLEU (beam {config.beam_size}) | {test["bleu"]} |
| test chrF (beam {config.beam_size}) | {test["chrf"]} |
| test BLEU (greedy) | {test["greedy"]["bleu"]} |
| test BLEU (beam {config.beam_size}), references of {LONG_SENTENCE_WORDS}+ words | {test.get("long_bleu", "–")} |
| test sentences (of {LONG_SENTENCE_WORDS}+ words) | {test["sentences"]} ({test.get("long_sentences", "–")}) |
| data | {", ".join(metrics["data"]["corpora"])} |
| split (train / valid / test) | {split["train"]} / {split["valid"]} / {split["test"]} |
| epochs (best) | {training["epochs"]} ({training["best_epoch"]}) |
| wall time | {training["wall_seconds"] / 60:.1f} min on {training["hardware"]} |
| parameters | {training["parameters"]:,} |
| initialised from | {training["init_from"] or "nothing (trained from scratch)"} |

Model: {config.layers}-layer {"bidirectional " if config.bidirectional else ""}LSTM encoder, {config.layers}-layer LSTM
decoder, {config.units} units, `{config.score}` attention score, input feeding {feeding},
dropout {config.dropout}, label smoothing {config.label_smoothing}, guided alignment weight
{config.guided_alignment}. Weights are stored in float16.

Scores: sacrebleu `{test["bleu_signature"]}` / `{test["chrf_signature"]}`.
The test split shares no English sentence with training. The sources and licences of the corpora listed
under "data" are in the project README's Data section.
"""


def push_to_hub(directory: Path, repo_id: str) -> None:
    from huggingface_hub import HfApi

    api = HfApi()
    api.create_repo(repo_id, exist_ok=True)
    api.upload_folder(folder_path=str(directory), repo_id=repo_id)
    log(f"uploaded {directory} to the Hugging Face Hub repo {repo_id}")
