"""Ablation of the attention choices on fr→en: score function, input feeding, decoder start, decoding.

Every variant trains the same model (the [fr-en] configuration at 256 units) on the same [fr-en]
training split for the same number of epochs (default 8, one CPU thread each), then is scored on the
same test split, greedy and with beam 5. Also reported: how much attention sits on a single summary position (the share
of steps whose most-attended source piece is the first or the last, and the mean largest weight).
Prints one JSON line per variant, then a Markdown table.

    python bench/ablation.py [--epochs 8] [--threads 1] [--variant dot --variant concat ...]

Variants can run as separate processes side by side (one per core) with --variant.
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

VARIANTS = {  # short name: (description, configuration changes)
    "general": ("general, input feeding (default)", {}),
    "dot": ("dot, input feeding", {"score": "dot"}),
    "concat": ("concat, input feeding", {"score": "concat"}),
    "no-feeding": ("general, no input feeding", {"input_feeding": False}),
    "encoder-init": ("general, input feeding, decoder from encoder state", {"init_decoder_from_encoder": True}),
}


def attention_focus(translations) -> dict:
    import numpy as np

    at_ends = np.concatenate([np.isin(t.best.attention.argmax(1), [0, len(t.source_pieces) - 1]) for t in translations])
    largest = np.concatenate([t.best.attention.max(1) for t in translations])
    return {
        "steps_on_first_or_last": round(float(at_ends.mean()), 3),
        "mean_max_weight": round(float(largest.mean()), 3),
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--epochs", type=int, default=8)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--variant", action="append", choices=VARIANTS, help="run only these (default: all)")
    args = parser.parse_args()

    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(args.threads)
    tf.config.threading.set_inter_op_parallelism_threads(args.threads)
    import keras

    from nmt.batching import Batches, encode_pairs
    from nmt.checkpoint import Checkpoint, build_model
    from nmt.config import read_config
    from nmt.metrics import corpus_scores
    from nmt.model import masked_loss
    from nmt.tokenizer import Tokenizer
    from nmt.training import read_split
    from nmt.translator import Translator

    base = read_config(Path(__file__).resolve().parents[1] / "config.ini", "fr-en")
    base = dataclasses.replace(base, units=256, embedding_dim=256)
    split, _ = read_split(base)
    train, test = split.train, split.test
    tokenizers = (
        Tokenizer.train((s for s, _ in train), base.source_vocab_size),
        Tokenizer.train((t for _, t in train), base.target_vocab_size),
    )
    examples, _ = encode_pairs(train, *tokenizers, base.max_pieces)
    valid, _ = encode_pairs(split.valid, *tokenizers, base.max_pieces)
    rows = []
    for name in args.variant or VARIANTS:
        description, changes = VARIANTS[name]
        config = dataclasses.replace(base, **changes)
        keras.utils.set_random_seed(config.seed)
        model = build_model(config, *tokenizers)
        model.compile(
            optimizer=keras.optimizers.Adam(config.learning_rate, clipnorm=5.0),
            loss=masked_loss(config.label_smoothing),
        )
        batches = Batches(examples, config.batch_tokens, config.seed, shuffle=True)
        started = time.time()
        model.fit(batches, epochs=args.epochs, verbose=0)
        valid_loss = model.evaluate(Batches(valid, config.batch_tokens, 0, shuffle=False), verbose=0)
        translator = Translator(Checkpoint(config, model, *tokenizers, {}))
        row = {
            "variant": description,
            "epochs": args.epochs,
            "minutes": round((time.time() - started) / 60, 1),
            "valid_loss": round(float(valid_loss), 3),
        }
        for label, beam in (("greedy", 1), ("beam5", 5)):
            translations = translator.translate([s for s, _ in test], beam_size=beam)
            scores = corpus_scores([translator.text(t.best) for t in translations], [r for _, r in test])
            row[f"bleu_{label}"], row[f"chrf_{label}"] = round(scores.bleu, 2), round(scores.chrf, 2)
            if beam == 1:
                row.update(attention_focus(translations))
        rows.append(row)
        print(json.dumps(row), flush=True)

    print(
        "\n| variant | epochs | valid loss | BLEU greedy | BLEU beam 5 | chrF beam 5 | steps on first/last piece |"
        " mean max weight |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(
            f"| {r['variant']} | {r['epochs']} | {r['valid_loss']} | {r['bleu_greedy']} | {r['bleu_beam5']} |"
            f" {r['chrf_beam5']} | {r['steps_on_first_or_last']:.0%} | {r['mean_max_weight']} |"
        )


if __name__ == "__main__":
    main()
