"""Decoding speed of the shipped fr→en checkpoint on 200 real held-out sentences.

Prints a JSON object as its last line: greedy_ms and beam5_ms (median per sentence, one at a time),
naive_greedy_ms (the same sentences through an eager layer-by-layer loop, as the original project
decoded; naive_same_output counts the sentences where it produced the greedy search's pieces), speedup,
piece10_greedy_ms (median over the sentences of exactly 10 source pieces) and
batch_sentences_per_s (all 200 greedy in batches of 64).

Other work on a shared machine slows some stretches of a run by a fifth or more, so the three ways of
decoding take turns over several passes, and each sentence's time is its best pass: every way sees the
machine in the same states. Each pass's medians are printed before the last line.

    python bench/decode.py [--checkpoint checkpoints/fr-en] [--data ../shared/data/fra-eng/fra.txt]
"""

import argparse
import json
import os
import random
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402
from keras import ops  # noqa: E402

from nmt.tokenizer import BOS_ID, EOS_ID, PAD_ID  # noqa: E402
from nmt.training import read_split  # noqa: E402
from nmt.translator import Translator, use_decoding_settings  # noqa: E402


def naive_greedy(model, source_ids, max_length):
    """The reference loop, as the original project decoded: eager calls of the model's Keras layers,
    the encoder layers once, then the decoder's LSTM cells, attention and output layers one by one at
    every step, for one sentence, without a compiled graph."""
    source = np.array([source_ids], np.int32)
    source_mask = source != PAD_ID
    values, states = model.source_embedding(source), []
    for layer in model.encoder_layers:
        values, *final = layer(values, mask=source_mask)
        states.append([ops.concatenate(final[0::2], -1), ops.concatenate(final[1::2], -1)])
    if not model.config.init_decoder_from_encoder:
        states = [[ops.zeros_like(h), ops.zeros_like(c)] for h, c in states]
    keys = model.attention.keys(values)
    attentional = np.zeros((1, model.config.units), np.float32)
    previous, output = np.array([BOS_ID], np.int32), []
    for _ in range(max_length):
        x = model.target_embedding(previous)
        if model.config.input_feeding:
            x = ops.concatenate([x, attentional], -1)
        new_states = []
        for layer, state in zip(model.decoder_layers, states):
            x, state = layer.cell(x, state)
            new_states.append(state)
        states = new_states
        context, _ = model.attention(ops.expand_dims(x, 1), keys, values, source_mask)
        attentional = model.attentional_layer(ops.concatenate([context[:, 0], x], -1))
        token = int(np.argmax(np.asarray(model.output_projection(attentional))[0]))
        output.append(token)
        if token == EOS_ID:
            break
        previous = np.array([token], np.int32)
    return output


def best_times_ms(ways: dict, items, passes: int) -> tuple[dict, dict]:
    """{name: function} → ({name: each item's best time in ms over `passes` passes}, {name: what the
    function returned for each item}); the ways take turns pass by pass."""
    best = {name: [float("inf")] * len(items) for name in ways}
    results = {}
    for number in range(1, passes + 1):
        for name, function in ways.items():
            times, results[name] = [], []
            for item in items:
                started = time.perf_counter()
                results[name].append(function(item))
                times.append(1000 * (time.perf_counter() - started))
            best[name] = [min(pair) for pair in zip(best[name], times)]
            print(f"pass {number}: {name} median {statistics.median(times):.2f} ms", flush=True)
    return best, results


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--checkpoint", default="checkpoints/fr-en")
    parser.add_argument("--data", default=None, help="corpus to sample from (default: the checkpoint's)")
    parser.add_argument("--sentences", type=int, default=200)
    parser.add_argument("--passes", type=int, default=3)
    args = parser.parse_args()

    use_decoding_settings()  # as the app and the command line do
    translator = Translator.load(args.checkpoint)
    config = translator.config
    if args.data:
        config.data = args.data
    split, _ = read_split(config)
    sources = [s for s, _ in random.Random(0).sample(split.test, args.sentences)]
    ids = [translator.source_ids(s) for s in sources]
    searcher, max_length = translator.searcher, config.max_output_pieces

    for beam_size in (1, 5):  # warm-up: traces both compiled searches once
        translator.translate(sources[:2], beam_size=beam_size)
    model = translator.checkpoint.model
    naive_greedy(model, ids[0], max_length)  # warm-up
    ways = {
        "greedy": lambda s: searcher.search([s], beam_size=1, max_length=max_length)[0][0].token_ids.tolist(),
        "beam5": lambda s: searcher.search([s], beam_size=5, alpha=config.length_penalty, max_length=max_length),
        "naive": lambda s: naive_greedy(model, s, max_length),
    }
    best, outputs = best_times_ms(ways, ids, args.passes)
    greedy_ms, beam5_ms, naive_ms = (statistics.median(best[name]) for name in ways)
    ten = [i for i, s in enumerate(ids) if len(s) - 1 == 10] or list(range(len(ids)))
    piece10_ms = statistics.median(best["greedy"][i] for i in ten)
    started = time.perf_counter()
    translator.translate(sources, beam_size=1, batch_size=64)
    batch_rate = len(sources) / (time.perf_counter() - started)

    result = {
        "sentences": len(sources),
        "passes": args.passes,
        "greedy_ms": round(greedy_ms, 2),
        "beam5_ms": round(beam5_ms, 2),
        "beam5_over_greedy": round(beam5_ms / greedy_ms, 2),
        "naive_greedy_ms": round(naive_ms, 2),
        "speedup": round(naive_ms / greedy_ms, 1),
        "naive_same_output": sum(a == b for a, b in zip(outputs["greedy"], outputs["naive"])),
        "piece10_greedy_ms": round(piece10_ms, 2),
        "piece10_sentences": len(ten),
        "batch_sentences_per_s": round(batch_rate, 1),
        "cpu_count": os.cpu_count(),
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
