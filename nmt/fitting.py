"""The fit loop and its resumable state: best weights, learning-rate halving, patience, time budget.

After every epoch, and when a time budget or an interrupt (Ctrl-C, SIGTERM) stops a run between two
steps, the full state (weights, optimizer, best weights, counters, tokenizers) is written atomically
to ``<output>.training/``, from which a resumed run continues at the same step.
"""

from __future__ import annotations

import contextlib
import json
import math
import shutil
import signal
import tempfile
import threading
import time
from pathlib import Path

import keras
import numpy as np

from nmt import checkpoint as ckpt
from nmt.batching import Batches
from nmt.config import Config, with_absolute_paths


def log(message: str) -> None:
    print(message, flush=True)


INTERRUPTS = (signal.SIGINT, signal.SIGTERM)


class Interrupted(Exception):
    """Training was interrupted by signal `number` and its state saved; the message says how to go on."""

    def __init__(self, message: str, number: int):
        super().__init__(message)
        self.number = number


def distribute_over_devices() -> int:
    """Data parallelism over every local accelerator, on Keras' own distribution API: under JAX with
    several devices, ``keras.distribution.DataParallel`` replicates the weights and splits each batch
    between the devices (call it before the model is built). Returns the number of replicas (1: one
    device, or another backend)."""
    if keras.backend.backend() != "jax":
        return 1
    import jax

    devices = jax.local_devices()
    if len(devices) > 1:
        keras.distribution.set_distribution(keras.distribution.DataParallel(devices=devices))
    return len(devices)


class Progress(keras.callbacks.Callback):
    """Keeps the best weights by validation loss, halves the learning rate when it stalls, stops after
    `patience` epochs without improvement or, between any two steps, past the time budget or at the
    first Ctrl-C or SIGTERM (a second one stops at once), and saves all of it every epoch and when it
    stops.

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
        self.interrupted: signal.Signals | None = None  # the signal that stopped the run
        self._handlers = {}
        # model → the alignment weights of a few fixed held-out pairs, recorded after every epoch.
        self.watch = None

    def on_train_begin(self, logs=None):
        self.started = time.time() - self.state["seconds"]

    @contextlib.contextmanager
    def catching_interrupts(self):
        """While training, the first Ctrl-C or SIGTERM stops it after the current step; a second acts as
        usual. Only in the main thread, where Python delivers signals, and never for a signal the
        process ignores (SIGINT of a job started with `&` by a script)."""
        self._handlers = {}
        if threading.current_thread() is threading.main_thread():
            for number in INTERRUPTS:
                if signal.getsignal(number) is not signal.SIG_IGN:
                    self._handlers[number] = signal.signal(number, self._interrupt)
        try:
            yield
        finally:
            self._restore_handlers()

    def _interrupt(self, number, frame):
        # Only the flag: printing here could re-enter a write the signal interrupted. The step's end
        # says that it stops.
        self.interrupted = signal.Signals(number)
        self._restore_handlers()  # so that a second one acts as usual

    def _restore_handlers(self):
        for number, handler in self._handlers.items():
            signal.signal(number, signal.SIG_DFL if handler is None else handler)  # None: set outside Python
        self._handlers = {}

    def on_train_batch_end(self, batch, logs=None):
        last = batch + 1 >= self.params["steps"]  # then the epoch ends anyway, and on_epoch_end stops it
        stop = self.interrupted or self.over_budget(time.time() - self.started)
        if not last and stop and not self.model.stop_training:
            self._stop_inside_epoch(self.state["step"] + batch + 1)

    def _stop_inside_epoch(self, step: int) -> None:
        """Stops and saves at once (not after the validation pass Keras still runs): the epoch is not
        complete, so neither the epoch count, the best weights nor patience move. Before any complete
        epoch, these weights stand in as the best (without a best loss, so the first complete epoch
        replaces them)."""
        self.stopped_at_step = step
        self.state.update(step=step, seconds=time.time() - self.started)
        log(f"stopping at step {step} of epoch {self.state['epoch'] + 1}: {self.stop_reason()}")
        if self.state["best_loss"] is None:  # also when a run stopped this way before resumes
            self.best_weights = self.model.get_weights()
        self._save()
        self.model.stop_training = True

    def on_epoch_end(self, epoch, logs=None):
        if self.stopped_at_step:  # saved when it stopped
            return
        loss = float(logs["val_loss"])
        state = self.state
        state["seconds"] = time.time() - self.started
        state.update(epoch=epoch + 1, step=0)
        state["history"].append(
            {
                "epoch": epoch + 1,
                "loss": float(logs["loss"]),
                "val_loss": loss,
                "learning_rate": float(self.model.optimizer.learning_rate.numpy()),
            }
        )
        if self.watch is not None:
            state.setdefault("attention_by_epoch", []).append({"epoch": epoch + 1, "attention": self.watch(self.model)})
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

    def finished(self) -> bool:
        """Whether training is over whatever stopped it: every epoch done, or patience used up."""
        return self.state["epoch"] >= self.config.epochs or self.state["wait"] >= self.config.patience

    def stop_reason(self) -> str:
        """Why training should not go on ("" if it should): an interrupt, patience or the time budget
        used up."""
        if self.interrupted:
            return f"interrupted by {self.interrupted.name}"
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
            # Absolute paths: the run resumes from any working directory.
            (staging / "config.json").write_text(with_absolute_paths(self.config).to_json(), encoding="utf-8")
            (staging / "state.json").write_text(json.dumps(self.state, indent=2), encoding="utf-8")
            ckpt.replace_directory(staging, self.state_dir)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise


def read_best(state_dir: Path, model):
    current = model.get_weights()
    ckpt.read_weights(model, state_dir / "best.h5")
    best = model.get_weights()
    model.set_weights(current)
    return best


def restore_optimizer(state_dir: Path, model, optimizer) -> None:
    optimizer.build(model.trainable_variables)
    with np.load(state_dir / "optimizer.npz", allow_pickle=False) as stored:
        values = [stored[f"arr_{i}"] for i in range(len(stored.files))]
    if len(values) != len(optimizer.variables):
        raise ckpt.CheckpointError(f"{state_dir / 'optimizer.npz'}: does not match this model's optimizer")
    for variable, value in zip(optimizer.variables, values):
        variable.assign(value)


def fit_epochs(model, progress: Progress, make_batches, valid_batches: Batches, until: int) -> None:
    """Trains up to epoch `until`, one fit per epoch on that epoch's batches (`make_batches(epoch)`),
    first finishing an epoch that a resumed run had stopped inside."""
    with progress.catching_interrupts():
        while progress.state["epoch"] < until:
            epoch, step = progress.state["epoch"], progress.state["step"]
            batches = make_batches(epoch)
            if step:
                log(f"resuming epoch {epoch + 1} at step {step + 1}")
                batches.skip(step)
            model.fit(
                batches, validation_data=valid_batches, epochs=epoch + 1, initial_epoch=epoch, callbacks=[progress]
            )
            if model.stop_training:  # patience, the budget or an interrupt; the next fit would reset it
                return


def next_learning_rate(config: Config, state: dict, replicas: int = 1) -> float:
    """The learning rate for the next epoch: the last epoch's, halved if it did not improve. A new run
    on `replicas` devices, whose batches are `replicas` times larger, starts at √replicas times the
    configured rate (the square-root rule for Adam, Malladi et al. 2022)."""
    if not state["history"]:
        return config.learning_rate * math.sqrt(replicas)
    return state["history"][-1]["learning_rate"] * (0.5 if state["wait"] else 1.0)
