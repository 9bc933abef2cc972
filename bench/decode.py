"""Decoding speed of the shipped fr→en checkpoint on 200 real held-out sentences.

Prints a JSON object as its last line: greedy_ms and beam5_ms (median per sentence, one at a time),
naive_greedy_ms (the same sentences through an eager layer-by-layer loop, as the original project
decoded), speedup, piece10_greedy_ms (median over the sentences of exactly 10 source pieces) and
batch_sentences_per_s (all 200 greedy in batches of 64).

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

from nmt.tokenizer import BOS_ID, EOS_ID  # noqa: E402
from nmt.training import read_split  # noqa: E402
from nmt.translator import Translator, use_decoding_threads  # noqa: E402


def naive_greedy(model, source_ids, max_length):
    """The reference loop: eager Keras calls at every step, one sentence, no compiled graph."""
    values, keys, source_mask, states = model.encode(np.array([source_ids], np.int32))
    attentional = np.zeros((1, model.config.units), np.float32)
    previous, output = np.array([BOS_ID], np.int32), []
    for _ in range(max_length):
        log_probs, states, attentional, _ = model.decode_step(previous, states, attentional, keys, values, source_mask)
        token = int(np.argmax(np.asarray(log_probs)[0]))
        output.append(token)
        if token == EOS_ID:
            break
        previous = np.array([token], np.int32)
    return output


def median_ms(function, items):
    times = []
    for item in items:
        started = time.perf_counter()
        function(item)
        times.append(1000 * (time.perf_counter() - started))
    return statistics.median(times)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--checkpoint", default="checkpoints/fr-en")
    parser.add_argument("--data", default=None, help="corpus to sample from (default: the checkpoint's)")
    parser.add_argument("--sentences", type=int, default=200)
    args = parser.parse_args()

    use_decoding_threads()  # as the app and the command line do
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
    naive_greedy(translator.checkpoint.model, ids[0], max_length)
    greedy_ms = median_ms(lambda s: searcher.search([s], beam_size=1, max_length=max_length), ids)
    beam5_ms = median_ms(
        lambda s: searcher.search([s], beam_size=5, alpha=config.length_penalty, max_length=max_length), ids
    )
    naive_ms = median_ms(lambda s: naive_greedy(translator.checkpoint.model, s, max_length), ids)
    ten = [s for s in ids if len(s) - 1 == 10] or ids
    piece10_ms = median_ms(lambda s: searcher.search([s], beam_size=1, max_length=max_length), ten)
    started = time.perf_counter()
    translator.translate(sources, beam_size=1, batch_size=64)
    batch_rate = len(sources) / (time.perf_counter() - started)

    result = {
        "sentences": len(sources),
        "greedy_ms": round(greedy_ms, 2),
        "beam5_ms": round(beam5_ms, 2),
        "beam5_over_greedy": round(beam5_ms / greedy_ms, 2),
        "naive_greedy_ms": round(naive_ms, 2),
        "speedup": round(naive_ms / greedy_ms, 1),
        "piece10_greedy_ms": round(piece10_ms, 2),
        "piece10_sentences": len(ten),
        "batch_sentences_per_s": round(batch_rate, 1),
        "cpu_count": os.cpu_count(),
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
