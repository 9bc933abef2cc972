"""Training throughput of the default fr→en configuration: as train.py trains it (length-bucketed
batches, its default precision) against the same batches in float32 and against a plain baseline.

All train the same model (config.ini's [fr-en], without its guided alignment term) for the same
number of optimizer steps on the same sentences. The baseline feeds batches of the same number of
sentences padded to the corpus maximum length, unbucketed, in float32, through plain `fit` on arrays.
Each variant's validation loss after its steps says whether the precision costs quality. Prints a
JSON object as its last line with tokens_per_s (target tokens per second, bucketed, default
precision), float32_tokens_per_s, speedup_vs_float32, baseline_tokens_per_s and speedup (bucketed
over baseline, both float32).

    python bench/train_speed.py [--steps 12]
"""

import argparse
import dataclasses
import json
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import keras  # noqa: E402
import numpy as np  # noqa: E402

from nmt.batching import Batches, encode_pairs, teacher_forcing_arrays  # noqa: E402
from nmt.checkpoint import build_model  # noqa: E402
from nmt.config import read_config  # noqa: E402
from nmt.model import masked_loss  # noqa: E402
from nmt.precision import training_policy  # noqa: E402
from nmt.tokenizer import Tokenizer  # noqa: E402
from nmt.training import read_split  # noqa: E402


class StepTimer(keras.callbacks.Callback):
    """Wall time of each training step; the first (tracing) step is left out of the rate."""

    def on_train_batch_begin(self, batch, logs=None):
        self.started = time.perf_counter()

    def on_train_batch_end(self, batch, logs=None):
        self.times.append(time.perf_counter() - self.started)

    def on_train_begin(self, logs=None):
        self.times = []


def fresh_model(config, tokenizers):
    """The model built and compiled under the current dtype policy, from the config's seed."""
    keras.utils.set_random_seed(config.seed)
    model = build_model(config, *tokenizers)
    model.compile(
        optimizer=keras.optimizers.Adam(config.learning_rate, clipnorm=5.0), loss=masked_loss(config.label_smoothing)
    )
    return model


def bucketed_run(config, tokenizers, policy: str, bucketed: Batches, steps: int, valid: Batches) -> tuple[float, float]:
    """Target tokens per second over `steps` bucketed steps after the first, and the validation loss
    after them."""
    tokens = sum(int((bucketed[i][1] != 0).sum()) for i in range(1, steps))
    timer = StepTimer()
    caller_policy = keras.config.dtype_policy()
    keras.config.set_dtype_policy(policy)
    try:
        model = fresh_model(config, tokenizers)
        model.fit(bucketed, epochs=1, steps_per_epoch=steps, callbacks=[timer], verbose=0)
        valid_loss = float(model.evaluate(valid, verbose=0))
    finally:
        keras.config.set_dtype_policy(caller_policy)
    return tokens / sum(timer.times[1:]), valid_loss


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", default="config.ini")
    parser.add_argument("--steps", type=int, default=12, help="timed optimizer steps per variant")
    args = parser.parse_args()

    # The translation loss alone: guided alignment's targets need eflomal over the whole corpus first,
    # and its term adds one small (B, T, S) product per batch, the same in every variant.
    config = dataclasses.replace(read_config(args.config, "fr-en"), guided_alignment=0.0)
    split, _ = read_split(config)
    tokenizers = (
        Tokenizer.train((s for s, _ in split.train), config.source_vocab_size),
        Tokenizer.train((t for _, t in split.train), config.target_vocab_size),
    )
    examples, _ = encode_pairs(split.train, *tokenizers, config.max_pieces)
    valid_examples, _ = encode_pairs(split.valid, *tokenizers, config.max_pieces)
    valid = Batches(valid_examples, config.batch_tokens, config.seed, shuffle=False)

    # One fixed epoch's order (epoch=0), so that every variant trains the same batches.
    bucketed = Batches(examples, config.batch_tokens, config.seed, shuffle=True, epoch=0)
    steps = min(args.steps + 1, len(bucketed))
    policy = training_policy(config.precision)
    float32_tokens_per_s, float32_valid_loss = bucketed_run(config, tokenizers, "float32", bucketed, steps, valid)
    if policy == "float32":
        tokens_per_s, valid_loss = float32_tokens_per_s, float32_valid_loss
    else:
        tokens_per_s, valid_loss = bucketed_run(config, tokenizers, policy, bucketed, steps, valid)

    # Baseline: the same number of sentences per batch, shuffled, padded to the longest pair in the corpus.
    per_batch = round(len(examples) / len(bucketed))
    order = np.random.default_rng(config.seed).permutation(len(examples))[: per_batch * steps]
    longest = max(max(len(s), len(t) + 1) for s, t in examples)
    (source, target_input), target_output = teacher_forcing_arrays([examples[i] for i in order], longest)
    timer = StepTimer()
    fresh_model(config, tokenizers).fit(
        (source, target_input),
        target_output,
        batch_size=per_batch,
        epochs=1,
        shuffle=False,
        callbacks=[timer],
        verbose=0,
    )
    baseline_tokens = int((target_output[per_batch:] != 0).sum())
    baseline_tokens_per_s = baseline_tokens / sum(timer.times[1:])

    print(
        json.dumps(
            {
                "steps": steps - 1,
                "sentences_per_batch": per_batch,
                "padded_length_baseline": int(source.shape[1]),
                "precision": policy,
                "tokens_per_s": round(tokens_per_s),
                "float32_tokens_per_s": round(float32_tokens_per_s),
                "speedup_vs_float32": round(tokens_per_s / float32_tokens_per_s, 2),
                "valid_loss": round(valid_loss, 4),
                "float32_valid_loss": round(float32_valid_loss, 4),
                "baseline_tokens_per_s": round(baseline_tokens_per_s),
                "speedup": round(float32_tokens_per_s / baseline_tokens_per_s, 2),
                "cpu_count": os.cpu_count(),
            }
        )
    )


if __name__ == "__main__":
    main()
