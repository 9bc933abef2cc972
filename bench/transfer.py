"""The transfer experiment's record: compares a ko→en model trained from scratch with one initialised
from the fr→en parent (same split, seed, settings and epoch budget) and writes the comparison into the
shipped checkpoint's metrics.json as "transfer", with any other runs of the experiment under "variants".
It also scores every run on the validation split, which chose the shipped settings, and on the test
pairs whose English sentence the parent never trained on (Tatoeba translates many English sentences
into both French and Korean, so some of the child's test references were the parent's training
targets). Every folder comes from train.py; scratch and transfer with config.ini's [ko-en], a variant
with its own flags:

    python train.py ko-en --epochs 40 --init-from "" --output runs/ko-en-scratch
    python train.py ko-en --epochs 40 --output checkpoints/ko-en
    python train.py ko-en --epochs 40 --batch-tokens 1024 --train-data "" --output runs/ko-en-b1024
    python bench/transfer.py --scratch runs/ko-en-scratch --transfer checkpoints/ko-en \
        --variant "batch 1024=runs/ko-en-b1024" ... --into checkpoints/ko-en

A later run joins an existing record without the earlier runs' folders: --previous names the metrics.json
that holds the record, and only the new variants are scored.

    python bench/transfer.py --previous OLD/metrics.json --variant "LABEL=runs/ko-en-new" --into runs/ko-en-new
"""

import argparse
import json
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from nmt.checkpoint import load_checkpoint  # noqa: E402
from nmt.data import english_group  # noqa: E402
from nmt.metrics import corpus_scores  # noqa: E402
from nmt.training import read_split  # noqa: E402
from nmt.translator import Translator  # noqa: E402


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


def held_out_scores(parent: Path, runs: dict) -> dict:
    """Per run, BLEU with its beam on the validation split (which chose the shipped settings) and on the
    test pairs whose English sentence, grouped as the split groups it, is not in the parent's training
    split (with how many they are: a retrained parent trained on other sentences)."""
    parent_split, _ = read_split(load_checkpoint(parent).config)
    # Pairs are (source, target); parent and child share the target language.
    seen = {english_group(pair, 1) for pair in parent_split.train}
    valid, unseen_by_parent = {}, {}
    for label, directory in runs.items():
        checkpoint = load_checkpoint(directory)
        split, _ = read_split(checkpoint.config)
        translator = Translator(checkpoint)
        unseen = [pair for pair in split.test if english_group(pair, 1) not in seen]
        valid[label], unseen_bleu = (
            round(corpus_scores(translator.translate_texts([s for s, _ in pairs]), [t for _, t in pairs]).bleu, 2)
            for pairs in (split.valid, unseen)
        )
        unseen_by_parent[label] = {"test_sentences": len(unseen), "bleu": unseen_bleu}
    return {"valid_bleu": valid, "unseen_by_parent": unseen_by_parent}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scratch", type=Path)
    parser.add_argument("--transfer", type=Path)
    parser.add_argument("--previous", type=Path, help="a metrics.json whose record the variants join")
    parser.add_argument("--variant", action="append", default=[], metavar="LABEL=DIR", help="another run to record")
    parser.add_argument("--into", type=Path, required=True, help="checkpoint whose metrics.json records it")
    args = parser.parse_args()
    if bool(args.previous) == bool(args.scratch and args.transfer):
        parser.error("give either --scratch and --transfer, or --previous")

    variant_dirs = {label: Path(folder) for label, folder in (v.split("=", 1) for v in args.variant)}
    variants = {label: summary(folder) for label, folder in variant_dirs.items()}
    if args.previous:
        record = json.loads(args.previous.read_text(encoding="utf-8"))["transfer"]
        test_sizes = {record["test_sentences"]}
    else:
        scratch, transfer = summary(args.scratch), summary(args.transfer)
        test_sizes = {scratch["sentences"], transfer["sentences"]}
    if len(test_sizes | {run["sentences"] for run in variants.values()}) != 1:
        raise SystemExit("the runs were scored on different test splits")
    if args.previous:
        record["variants"] |= variants
        if variants:
            scores = held_out_scores(Path(next(iter(variants.values()))["init_from"]), variant_dirs)
            record["valid_bleu"] |= scores["valid_bleu"]
            record["unseen_by_parent"] |= scores["unseen_by_parent"]
    else:
        runs = {"scratch": args.scratch, "transfer": args.transfer} | variant_dirs
        record = new_record(scratch, transfer, variants, held_out_scores(Path(transfer["init_from"]), runs))
    path = args.into / "metrics.json"
    metrics = json.loads(path.read_text(encoding="utf-8"))
    metrics["transfer"] = record
    staging = path.with_suffix(".json.tmp")
    staging.write_text(json.dumps(metrics, indent=2, ensure_ascii=False), encoding="utf-8")
    os.replace(staging, path)
    print(json.dumps(record))


def new_record(scratch: dict, transfer: dict, variants: dict, held_out: dict) -> dict:
    """The comparison of the `scratch` and `transfer` summaries, with the variants' summaries and every
    run's held-out scores."""
    return {
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
        **held_out,
    }


if __name__ == "__main__":
    main()
