"""Training a language pair: corpus → tokenizers → length-bucketed batches → teacher-forced fit →
scored checkpoint folder.

The concerns have their modules: reading and splitting corpora (:mod:`nmt.data`), examples and
batches (:mod:`nmt.batching`), the fit loop and its resumable state (:mod:`nmt.fitting`), transfer
from a parent (:mod:`nmt.transfer`), the model card and upload (:mod:`nmt.model_card`). The finished
checkpoint replaces ``<output>`` atomically, and the state folder ``<output>.training/`` is removed.
"""

from __future__ import annotations

import dataclasses
import json
import os
import platform
import shutil
import time
from pathlib import Path

import keras
import numpy as np

from nmt import checkpoint as ckpt
from nmt.alignment import guide_alignments
from nmt.batching import Batches, encode_pairs, teacher_forcing_arrays
from nmt.config import Config, corpus_specs, with_absolute_paths
from nmt.data import (
    PairStream,
    ReadReport,
    Split,
    english_group,
    held_out_of_stream,
    read_corpus,
    split_by_english,
    uniform_sample,
)
from nmt.fitting import (
    Interrupted,
    Progress,
    distribute_over_devices,
    fit_epochs,
    log,
    next_learning_rate,
    read_best,
    restore_optimizer,
)
from nmt.metrics import LONG_SENTENCE_WORDS, corpus_scores
from nmt.model import guided_alignment_loss, masked_loss
from nmt.model_card import model_card, push_to_hub
from nmt.precision import training_policy
from nmt.tokenizer import EOS_ID, Tokenizer
from nmt.transfer import transfer_from
from nmt.translator import Translator

# --------------------------------------------------------------------------------------------------
# Data


def _english_side(config: Config) -> int:
    """Which side of a pair is English, the side the held-out splits group by."""
    return 0 if config.source_lang == "en" else 1


def _read_corpora(specs: str, config: Config, reports: dict) -> list:
    pairs = []
    for spec in corpus_specs(specs):
        report = ReadReport()
        pairs.extend(read_corpus(spec, config.source_lang, config.target_lang, config.max_chars, report))
        _record(reports, spec, report)
    return pairs


def _record(reports: dict, spec: str, report: ReadReport) -> None:
    """Logs what reading corpus `spec` kept and skipped, and records it in `reports` for the metrics."""
    log(f"{spec}: {report}")
    reports[spec] = {"kept": report.kept, "skipped": dict(report.skipped)}


def read_split(config: Config) -> tuple[Split, dict]:
    """Reads every corpus in ``config.data`` and splits by English sentence, then adds the
    ``config.train_data`` corpora to the training split (less any pair whose English sentence is held
    out); returns the split and a report per corpus. With ``config.stream_pairs`` the training split
    is a :class:`~nmt.data.PairStream`, counted in one pass here, and only the held-out pairs are
    held in memory."""
    if config.stream_pairs:
        return _stream_split(config)
    reports: dict = {}
    pairs = _read_corpora(config.data, config, reports)
    if not pairs:
        raise ValueError("no training data: set `data` in config.ini or pass --data FILE")
    english_side = _english_side(config)
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


def _stream_split(config: Config) -> tuple[Split, dict]:
    """The split of a streamed run: held-out pairs drawn from ``config.data`` in one pass (a split of
    its own, :func:`~nmt.data.held_out_of_stream`), and a stream of every other training pair."""
    langs, english_side = (config.source_lang, config.target_lang), _english_side(config)
    corpora = PairStream(corpus_specs(config.data), langs, config.max_chars, english_side)
    valid, test = held_out_of_stream(corpora, english_side, config.valid_size, config.test_size, config.seed)
    if not test:
        raise ValueError("no training data: set `data` in config.ini or pass --data FILE")
    held_out = {english_group(pair, english_side) for pair in valid + test}
    specs = corpus_specs(config.data) + corpus_specs(config.train_data)
    train = PairStream(specs, langs, config.max_chars, english_side, held_out)
    for _ in train:  # one pass counts it
        pass
    reports: dict = {}
    for spec, report in train.reports.items():
        _record(reports, spec, report)
    log(
        f"split by English sentence, streamed (seed {config.seed}): {train.pairs_per_pass} train "
        f"({train.dropped} pairs of held-out English sentences left out), {len(valid)} valid, {len(test)} test; "
        f"trained {config.stream_pairs} pairs an epoch"
    )
    return Split(train=train, valid=valid, test=test), reports


def _training_count(split: Split) -> int:
    return split.train.pairs_per_pass if isinstance(split.train, PairStream) else len(split.train)


def hardware() -> str:
    if keras.backend.backend() == "jax":
        import jax

        devices = jax.local_devices()
        count = f"{len(devices)} × " if len(devices) > 1 else ""
        return f"{count}{devices[0].device_kind} ({jax.default_backend()}), {os.cpu_count()} CPU cores"
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
    resuming = resume and state_dir.is_dir()
    if resume and not resuming:
        log(f"nothing to resume at {state_dir}; starting afresh")
    tokenizers = _tokenizers(config, split, state_dir if resuming else None)

    guides, langs = None, (config.source_lang, config.target_lang)
    if config.guided_alignment:
        cache = output.with_name(output.name + ".guide-links")
        log(f"guided alignment: eflomal's alignments of the training pairs (computed once, kept in {cache})")
        guides = guide_alignments(split.train, langs, cache)
    training_examples = TrainingExamples(config, split, tokenizers, guides)
    valid_examples, _ = encode_pairs(split.valid, *tokenizers, config.max_pieces)

    watched = _watched(valid_examples)
    progress = _train_model(config, tokenizers, state_dir, resuming, training_examples, valid_examples, watched)
    state = progress.state
    if progress.interrupted and not progress.finished():  # one after the last epoch stops nothing
        where = (
            f"at step {state['step']} of epoch {state['epoch'] + 1}"
            if state["step"]
            else f"after epoch {state['epoch']}"
        )
        message = f"interrupted {where}: the state is in {state_dir}; --resume goes on from there"
        raise Interrupted(message, progress.interrupted)
    # Scored and shipped as the app runs it: in float32, whatever the training precision.
    model = ckpt.build_model(config, *tokenizers, to_load=True)
    model.set_weights(progress.best_weights)
    tokens_per_s = training_examples.target_tokens * state["epoch"] / max(state["seconds"], 1e-9)
    best = f"{state['best_loss']:.4f} at epoch {state['best_epoch']}" if state["best_loss"] else "none"
    log(
        f"trained {state['epoch']} epochs in {state['seconds'] / 60:.1f} min "
        f"({tokens_per_s:,.0f} target tokens/s); best validation loss {best}"
    )

    # Score what will be shipped: the weights rounded to the checkpoint's float16.
    model.set_weights([w.astype(np.float16).astype(w.dtype) for w in model.get_weights()])
    checkpoint = ckpt.Checkpoint(config, model, *tokenizers, metrics={})
    checkpoint.metrics = {
        "pair": config.pair,
        "test": score_test_split(Translator(checkpoint), split.test, config.beam_size),
        "data": {
            "corpora": reports,
            "seed": config.seed,
            "split": {"train": _training_count(split), "valid": len(split.valid), "test": len(split.test)},
            "train_pairs_used": training_examples.used,
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
            "replicas": state.get("replicas", 1),
            "precision": state.get("precision", "float32"),
            "attention_by_epoch": {
                "sentences": [
                    {
                        "source_tokens": tokenizers[0].pieces(source),
                        "target_tokens": tokenizers[1].pieces([*target, EOS_ID]),
                    }
                    for source, target, *_ in watched
                ],
                "epochs": state.get("attention_by_epoch", []),
            },
        },
        "versions": versions(),
    }
    checkpoint.examples = pick_examples(split.test)
    ckpt.save_checkpoint(output, checkpoint, model_card(config, checkpoint.metrics))
    log(f"checkpoint written to {output}")
    if progress.over_budget(state["seconds"]) and not progress.finished():
        log(f"the time budget stopped it: its state stays in {state_dir}; --resume with more --max-minutes goes on")
    else:
        shutil.rmtree(state_dir, ignore_errors=True)
    if config.push_to_hub:
        log(f"uploaded {output} to {push_to_hub(output, config.push_to_hub)}")
    return output


class TrainingExamples:
    """Each epoch's training examples: every training pair, encoded once, or with ``stream_pairs``
    that epoch's chunk of the stream, encoded when its epoch starts (reading on from the last chunk).
    `used` and `target_tokens` count an epoch's examples and their target tokens (eos included): for a
    stream, those of the last chunk encoded, or of chunk 0 if none was."""

    def __init__(self, config: Config, split: Split, tokenizers, guides):
        self.config, self.split, self.tokenizers = config, split, tokenizers
        self._used = self._target_tokens = 0
        self._chunks, self._next_epoch = None, None
        self.encoded = None if config.stream_pairs else self._encode(split.train, guides)

    def _encode(self, pairs, guides=None) -> list:
        config = self.config
        langs = (config.source_lang, config.target_lang)
        examples, too_long = encode_pairs(pairs, *self.tokenizers, config.max_pieces, guides, langs)
        log(f"{len(examples)} training pairs ({too_long} skipped: over {config.max_pieces} pieces)")
        self._used, self._target_tokens = len(examples), sum(len(e[1]) + 1 for e in examples)
        return examples

    def __call__(self, epoch: int) -> list:
        if self.encoded is not None:
            return self.encoded
        if epoch != self._next_epoch:  # the first epoch of this process
            self._chunks = self.split.train.chunks(epoch, self.config.stream_pairs)
        self._next_epoch = epoch + 1
        return self._encode(next(self._chunks))

    @property
    def used(self) -> int:
        if not self._used and self.encoded is None:
            self(0)
        return self._used

    @property
    def target_tokens(self) -> int:
        return self._target_tokens if self.used else 0


def _train_model(
    config: Config, tokenizers, state_dir: Path, resuming: bool, training_examples, valid_examples, watched
):
    """Builds the model under the training precision and fits it; returns the Progress, which holds
    the state and the best weights."""
    replicas, policy = distribute_over_devices(), training_policy(config.precision)
    caller_policy = keras.config.dtype_policy()
    keras.config.set_dtype_policy(policy)
    try:
        model = ckpt.build_model(config, *tokenizers)
        progress = _start_progress(config, model, tokenizers, state_dir, resuming, replicas, policy)
        progress.watch = lambda trained: attention_of(trained, watched)
        log(f"{model.count_params():,} parameters; training on {hardware()}, in {policy}")
        if replicas > 1:
            log(f"data parallel over {replicas} devices: batches of {replicas} × {config.batch_tokens} tokens")
        _fit(config, model, progress, training_examples, valid_examples, resuming, replicas)
    finally:
        keras.config.set_dtype_policy(caller_policy)
    return progress


WATCHED = 3  # held-out pairs whose attention is recorded after every epoch


def _watched(valid_examples) -> list:
    """The first WATCHED validation examples of everyday length (6 to 15 target pieces)."""
    return [e for e in valid_examples if 6 <= len(e[1]) <= 15][:WATCHED]


def attention_of(model, examples) -> list:
    """The alignment weights (target pieces + eos × source pieces + eos, rounded) that `model`
    gives each (source ids + eos, target ids) example under teacher forcing."""
    if not examples:
        return []
    length = max(max(len(s), len(t) + 1) for s, t, *_ in examples)
    (source, target_input), _ = teacher_forcing_arrays(examples, length)
    # Through the model's call: under a mixed policy its autocast scope hands the weights that the
    # inference code reads directly (_lstm_scan) to it in the compute dtype.
    _, alignment = model((source, target_input), with_alignment=True)
    alignment = np.asarray(keras.ops.cast(alignment, "float32"))
    return [np.round(alignment[i, : len(t) + 1, : len(s)], 3).tolist() for i, (s, t, *_) in enumerate(examples)]


def _tokenizers(config: Config, split: Split, state_dir: Path | None) -> tuple[Tokenizer, Tokenizer]:
    """The resumed run's tokenizers (from `state_dir`), or new ones trained on the training split; a
    transfer keeps the parent's target tokenizer."""
    if state_dir is not None:
        saved = Config.from_dict(json.loads((state_dir / "config.json").read_text(encoding="utf-8")))
        # Precision may differ ("auto" or the policy it chose): the check on the state's policy decides.
        same = dataclasses.replace(
            saved, epochs=config.epochs, max_minutes=config.max_minutes, precision=config.precision
        )
        if with_absolute_paths(same) != with_absolute_paths(config):
            raise ValueError(f"{state_dir}: was started with a different configuration; resume with the same one")
        log(f"resuming from {state_dir}")
        tokenizers = (Tokenizer.load(state_dir / ckpt.SOURCE_SPM), Tokenizer.load(state_dir / ckpt.TARGET_SPM))
    else:
        sample, count = uniform_sample(split.train, config.tokenizer_sample, config.seed)
        if len(sample) < count:
            log(f"tokenizers trained on a uniform sample of {len(sample)} of the {count} training pairs")
        source_tokenizer = Tokenizer.train((s for s, _ in sample), config.source_vocab_size)
        if config.init_from:
            target_tokenizer = ckpt.load_checkpoint(config.init_from).target_tokenizer
            log(f"target tokenizer taken from the parent {config.init_from}")
        else:
            target_tokenizer = Tokenizer.train((t for _, t in sample), config.target_vocab_size)
        tokenizers = (source_tokenizer, target_tokenizer)
    log(f"vocabularies: {tokenizers[0].vocab_size} source pieces, {tokenizers[1].vocab_size} target pieces")
    return tokenizers


def _start_progress(
    config: Config, model, tokenizers, state_dir: Path, resuming: bool, replicas: int, policy: str
) -> Progress:
    """The run's progress: read back with the weights from `state_dir` when resuming (on as many
    devices as it started on, which set the batches, and in its precision, which sets the optimizer's
    variables), else fresh (with the parent's layers copied in for a transfer)."""
    if resuming:
        start = json.loads((state_dir / "state.json").read_text(encoding="utf-8"))
        if start.get("replicas", 1) != replicas:
            raise ValueError(
                f"{state_dir}: started on {start.get('replicas', 1)} devices, which set its batches; "
                f"resume it on as many (found {replicas})"
            )
        if start.get("precision", "float32") != policy:
            raise ValueError(
                f"{state_dir}: started in {start.get('precision', 'float32')}; resume it in the same "
                f"precision (--precision {start.get('precision', 'float32')}), not {policy}"
            )
        ckpt.read_weights(model, state_dir / "last.h5")
        return Progress(state_dir, config, tokenizers, start, read_best(state_dir, model))
    transferred = []
    if config.init_from:
        transferred = transfer_from(config.init_from, model, tokenizers[1], config)
        log(f"initialised from {config.init_from}: {', '.join(transferred)}")
    progress = Progress(state_dir, config, tokenizers, None)
    progress.state.update(transferred_layers=transferred, replicas=replicas, precision=policy)
    return progress


def _fit(
    config: Config, model, progress: Progress, training_examples, valid_examples, resuming: bool, replicas: int
) -> None:
    """Compiles the model with its losses and an optimizer (the saved one when resuming) and fits
    it up to ``config.epochs`` on each epoch's `training_examples(epoch)`, with batches `replicas` times
    ``batch_tokens``; a resumed run that had
    already stopped (it was interrupted while scoring) only finishes."""
    if progress.state["epoch"] >= config.epochs or progress.stop_reason():
        return
    guided, tokens = bool(config.guided_alignment), config.batch_tokens * replicas
    # Validation examples carry no alignment, so the validation loss is the translation loss alone.
    valid_batches = Batches(valid_examples, tokens, config.seed, shuffle=False, guided=guided, replicas=replicas)

    def train_batches(epoch: int) -> Batches:
        examples = training_examples(epoch)
        return Batches(examples, tokens, config.seed, shuffle=True, guided=guided, epoch=epoch, replicas=replicas)

    optimizer = keras.optimizers.Adam(next_learning_rate(config, progress.state, replicas), clipnorm=5.0)
    if guided:
        model.compile(
            optimizer=optimizer,
            loss=[masked_loss(config.label_smoothing), guided_alignment_loss],
            loss_weights=[1.0, config.guided_alignment],
        )
    else:
        model.compile(optimizer=optimizer, loss=masked_loss(config.label_smoothing))
    if resuming:  # after compile, which wraps the optimizer in a loss scaler under mixed_float16
        restore_optimizer(progress.state_dir, model, model.optimizer)
    fit_epochs(model, progress, train_batches, valid_batches, config.epochs)


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
