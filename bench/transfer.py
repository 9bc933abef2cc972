"""The transfer experiment's record: compares a ko→en model trained from scratch with one initialised
from the fr→en parent (same split, seed and epoch budget) and writes the comparison into the shipped
checkpoint's metrics.json as "transfer", with any other runs of the experiment under "variants".
Every folder comes from train.py:

    python train.py ko-en --epochs 25 --init-from "" --output runs/ko-en-scratch
    python train.py ko-en --epochs 25 --output checkpoints/ko-en
    python train.py ko-en --epochs 25 --transfer-encoder --output runs/ko-en-transfer-encoder
    python bench/transfer.py --scratch runs/ko-en-scratch --transfer checkpoints/ko-en \
        --variant "target side and encoder LSTMs=runs/ko-en-transfer-encoder" --into checkpoints/ko-en
"""

import argparse
import json
import os
from pathlib import Path


def summary(directory: Path) -> dict:
    metrics = json.loads((directory / "metrics.json").read_text(encoding="utf-8"))
    test, training = metrics["test"], metrics["training"]
    beam = next(k for k in test if k.startswith("beam"))
    return {
        "greedy_bleu": test["greedy"]["bleu"],
        "beam_bleu": test[beam]["bleu"],
        "beam_chrf": test[beam]["chrf"],
        "beam": beam,
        "epochs": training["epochs"],
        "minutes": round(training["wall_seconds"] / 60, 1),
        "sentences": test["sentences"],
        "init_from": training["init_from"],
        "transferred_layers": training["transferred_layers"],
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scratch", type=Path, required=True)
    parser.add_argument("--transfer", type=Path, required=True)
    parser.add_argument("--variant", action="append", default=[], metavar="LABEL=DIR", help="another run to record")
    parser.add_argument("--into", type=Path, required=True, help="checkpoint whose metrics.json records it")
    args = parser.parse_args()

    scratch, transfer = summary(args.scratch), summary(args.transfer)
    variants = {label: summary(Path(folder)) for label, folder in (v.split("=", 1) for v in args.variant)}
    if len({run["sentences"] for run in (scratch, transfer, *variants.values())}) != 1:
        raise SystemExit("the runs were scored on different test splits")
    record = {
        "parent": Path(transfer["init_from"]).name,
        "bleu_scratch": scratch["beam_bleu"],
        "bleu_transfer": transfer["beam_bleu"],
        "decoding": scratch["beam"],
        "greedy_bleu_scratch": scratch["greedy_bleu"],
        "greedy_bleu_transfer": transfer["greedy_bleu"],
        "chrf_scratch": scratch["beam_chrf"],
        "chrf_transfer": transfer["beam_chrf"],
        "epochs_scratch": scratch["epochs"],
        "epochs_transfer": transfer["epochs"],
        "minutes_scratch": scratch["minutes"],
        "minutes_transfer": transfer["minutes"],
        "test_sentences": scratch["sentences"],
        "variants": variants,
    }
    path = args.into / "metrics.json"
    metrics = json.loads(path.read_text(encoding="utf-8"))
    metrics["transfer"] = record
    staging = path.with_suffix(".json.tmp")
    staging.write_text(json.dumps(metrics, indent=2, ensure_ascii=False), encoding="utf-8")
    os.replace(staging, path)
    print(json.dumps(record))


if __name__ == "__main__":
    main()
