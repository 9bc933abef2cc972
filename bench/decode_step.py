"""Where the time of one greedy decoding step goes: the compiled greedy loop's time per step for the
shipped fr→en model and for models of the same architecture with fewer units or a smaller target
vocabulary (random weights: only the arithmetic and memory traffic matter here).

A step's time is measured from the loop's own length limit: (time of n₂ steps − time of n₁ steps) /
(n₂ − n₁), medians over repeated runs of one 10-piece source sentence. `weights_mb` is what one step
reads from memory: the decoder LSTMs', the attentional layer's and the output projection's float32
weights, less the first decoder LSTM's embedding rows, which the step replaces by one row of
`Seq2Seq.piece_gates`. Also prints `first_step_ms`, the loop limited to one step (the encoder, one step, and the
call). The last line is a JSON list, one object per model.

    python bench/decode_step.py [--repeats 40]
"""

import argparse
import dataclasses
import json
import os
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402

from nmt.checkpoint import load_checkpoint  # noqa: E402
from nmt.model import Seq2Seq  # noqa: E402
from nmt.search import Searcher  # noqa: E402
from nmt.tokenizer import EOS_ID  # noqa: E402
from nmt.translator import use_decoding_settings  # noqa: E402

SOURCE = np.arange(5, 15, dtype=np.int32)[None]  # 10 source pieces (eos not needed for timing)


def step_weights_mb(model: Seq2Seq) -> float:
    layers = [*model.decoder_layers, model.attentional_layer, model.output_projection]
    weights = sum(int(np.prod(w.shape)) for layer in layers for w in layer.weights)
    embedding_rows = model.config.embedding_dim * model.decoder_layers[0].cell.kernel.shape[1]
    return (weights - embedding_rows) * 4 / 2**20


def time_loop(searcher: Searcher, limit: int, repeats: int) -> tuple[int, float]:
    """Steps run and median milliseconds of the greedy graph limited to `limit` steps."""
    limits = np.array([limit], np.int32)
    chosen = np.asarray(searcher._greedy(SOURCE, limits, limit)["top_ids"])[:, 0, 0]
    ends = np.flatnonzero(chosen == EOS_ID)
    steps = int(ends[0]) + 1 if len(ends) else limit  # the loop stops at the first eos
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        searcher._greedy(SOURCE, limits, limit)
        times.append(1000 * (time.perf_counter() - started))
    return steps, statistics.median(times)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--checkpoint", default="checkpoints/fr-en")
    parser.add_argument("--repeats", type=int, default=40)
    args = parser.parse_args()

    use_decoding_settings()
    shipped = load_checkpoint(args.checkpoint).model
    config = shipped.config
    models = {"shipped": shipped}
    for units, vocab in ((512, 1000), (256, 4000), (128, 4000)):
        model = Seq2Seq(dataclasses.replace(config, units=units), shipped.source_embedding.input_dim, vocab)
        model.build_weights()
        models[f"{units} units, {vocab} pieces"] = model

    results = []
    for name, model in models.items():
        searcher = Searcher(model)
        n1, t1 = time_loop(searcher, 2, args.repeats)
        n2, t2 = time_loop(searcher, 32, args.repeats)
        _, first = time_loop(searcher, 1, args.repeats)
        if n2 - n1 < 5:
            raise SystemExit(f"{name}: ended after {n2} steps; too few to time a step")
        result = {
            "model": name,
            "units": model.config.units,
            "target_vocab": model.output_projection.units,
            "weights_mb": round(step_weights_mb(model), 1),
            "step_ms": round((t2 - t1) / (n2 - n1), 3),
            "steps_timed": n2 - n1,
            "first_step_ms": round(first, 2),
        }
        print(result)
        results.append(result)
    print(json.dumps(results))


if __name__ == "__main__":
    main()
