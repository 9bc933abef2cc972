"""Command line: ``python -m nmt translate | evaluate | align | align-eval ...``."""

from __future__ import annotations

import argparse
import itertools
import json
import sys
import time
from pathlib import Path


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m nmt", description="Translate with, evaluate, or align with a checkpoint."
    )
    commands = parser.add_subparsers(dest="command", required=True)

    translate = commands.add_parser("translate", help="translate TEXT arguments, or standard input line by line")
    translate.add_argument("--checkpoint", required=True, help="checkpoint folder")
    translate.add_argument("--beam", type=int, default=None, help="beam size (1 = greedy; default: the checkpoint's)")
    translate.add_argument("text", nargs="*", help="sentences to translate (default: read standard input)")

    evaluate = commands.add_parser("evaluate", help="BLEU and chrF of a checkpoint on a test set")
    evaluate.add_argument("--checkpoint", required=True, help="checkpoint folder")
    data = evaluate.add_mutually_exclusive_group(required=True)
    data.add_argument("--data", help="a corpus in any form train.py reads (e.g. a Tatoeba TSV)")
    data.add_argument("--src-file", help="source sentences, one a line (with --ref-file)")
    evaluate.add_argument("--ref-file", help="reference translations, line-aligned with --src-file")
    evaluate.add_argument("--beam", type=int, default=None, help="beam size (1 = greedy; default: the checkpoint's)")
    evaluate.add_argument("--limit", type=int, default=None, help="score only the first N pairs")

    align = commands.add_parser(
        "align",
        help="word alignments of given translations from attention (forced decoding), one Pharaoh line a pair",
        description="Prints one line of links i-j per pair: source word i, target word j, 0-based, over the "
        "whitespace tokens of the given lines.",
    )
    align.add_argument("--checkpoint", required=True, help="checkpoint folder")
    inputs = align.add_mutually_exclusive_group(required=True)
    inputs.add_argument("--src-file", help="source sentences, one a line (with --ref-file)")
    inputs.add_argument("--input", help="lines of 'source ||| target' (the fast_align / awesome-align form)")
    align.add_argument("--ref-file", help="their translations, line-aligned with --src-file")

    align_eval = commands.add_parser(
        "align-eval", help="alignment error rate, precision and recall of attention against human alignments"
    )
    align_eval.add_argument("--checkpoint", required=True, help="checkpoint folder")
    align_eval.add_argument("--gold", required=True, help="folder with X.<source>, X.<target>, X.talp")
    align_eval.add_argument(
        "--eflomal-data", help="also align with eflomal, trained on this corpus (any form train.py reads) + the gold"
    )

    publish = commands.add_parser(
        "publish-space",
        help="upload the app, nmt/, the checkpoints and the runtime requirements as a Hugging Face Space",
        description="Uploads exactly the files the Space needs in one commit (never the repository's history); "
        "log in first with `hf auth login` or set HF_TOKEN.",
    )
    publish.add_argument("repo_id", help="OWNER/NAME of the Space (created if it does not exist)")
    publish.add_argument("--private", action="store_true", help="create the Space private")
    publish.add_argument("--dry-run", action="store_true", help="list the files and upload nothing")

    calibrate = commands.add_parser(
        "calibrate",
        help="record in a checkpoint which inputs are beyond what it knows (the app's notice)",
        description="Measures the checkpoint's own validation split (source lengths, confidence of its "
        "translations), sets the limits of nmt/familiarity.py, reports the share of its test split and of "
        "out-of-domain sentences they flag, and writes them into the checkpoint's metrics.json.",
    )
    calibrate.add_argument("--checkpoint", required=True, help="checkpoint folder (its config names its data)")
    calibrate.add_argument("--out-of-domain", required=True, help="source sentences of another domain, one a line")
    calibrate.add_argument("--limit", type=int, default=500, help="sentences of each set (default 500)")

    fetch = commands.add_parser(
        "fetch-data",
        help="download the public corpora into the folder layout config.ini reads (needs internet access)",
        description="Tatoeba French-English and Korean-English from manythings.org/anki, the Korean-English "
        "news corpus from its GitHub repository; files already there are kept. See nmt/corpora.py.",
    )
    fetch.add_argument("folder", nargs="?", default="../shared/data", help="where (default: ../shared/data)")
    return parser


def _calibrate(args, translator) -> int:
    from nmt.checkpoint import METRICS, replace_file
    from nmt.familiarity import calibrate
    from nmt.training import read_split

    config = translator.config
    split, _ = read_split(config)
    out_of_domain = [line.strip() for line in Path(args.out_of_domain).read_text(encoding="utf-8").splitlines()]
    out_of_domain = [line for line in out_of_domain if line][: args.limit]
    record = calibrate(
        translator,
        [s for s, _ in split.valid[: args.limit]],
        [s for s, _ in split.test[: args.limit]],
        out_of_domain,
        Path(args.out_of_domain).name,
    )
    metrics = {**translator.checkpoint.metrics, "familiarity": record}
    replace_file(Path(args.checkpoint) / METRICS, json.dumps(metrics, indent=2, ensure_ascii=False))
    print(json.dumps(record))
    return 0


def _fetch_data(args) -> int:
    from nmt.corpora import fetch_corpora, missing_for_tests

    folder = Path(args.folder)
    try:
        fetch_corpora(folder)
    except (OSError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    still = missing_for_tests(folder)
    if still:
        print(f"still missing for the tests (no download; see README, Data): {', '.join(still)}", file=sys.stderr)
    return 0


def _publish_space(args) -> int:
    from nmt.space import needs_lfs, publish_space, space_files

    try:
        files = space_files()
    except (OSError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    for name, path in files.items():
        print(f"{name}  ({path.stat().st_size:,} bytes{', Git LFS' if needs_lfs(path) else ''})")
    if not args.dry_run:
        print(f"published: {publish_space(args.repo_id, private=args.private)}")
    return 0


def _read_pairs(args, config):
    from nmt.data import ReadReport, read_corpus, read_parallel_files

    report = ReadReport()
    if args.data:
        pairs = read_corpus(args.data, config.source_lang, config.target_lang, config.max_chars, report)
    else:
        pairs = read_parallel_files(args.src_file, args.ref_file, config.max_chars, report)
    pairs = list(itertools.islice(pairs, args.limit or None))
    print(f"{args.data or args.src_file}: {report}", file=sys.stderr)
    return pairs


def _read_word_pairs(args) -> list[tuple[list[str], list[str]]]:
    if args.input:
        lines = Path(args.input).read_text(encoding="utf-8").splitlines()
        halves = [line.split(" ||| ") for line in lines]
        bad = next((n for n, h in enumerate(halves, 1) if len(h) != 2), None)
        if bad:
            raise ValueError(f"{args.input}:{bad}: expected 'source ||| target'")
    else:
        sources = Path(args.src_file).read_text(encoding="utf-8").splitlines()
        targets = Path(args.ref_file).read_text(encoding="utf-8").splitlines()
        if len(sources) != len(targets):
            raise ValueError(f"{args.src_file} has {len(sources)} lines but {args.ref_file} has {len(targets)}")
        halves = list(zip(sources, targets))
    return [(source.split(), target.split()) for source, target in halves]


def _align(args, translator) -> int:
    from nmt.alignment import argmax_links, attention_by_word, pharaoh

    for attention in attention_by_word(translator, _read_word_pairs(args)):
        print(pharaoh(argmax_links(attention)))
    return 0


def _align_eval(args, translator) -> int:
    from nmt.alignment import argmax_links, attention_by_word, diagonal, eflomal_links, error_rate, read_gold, tokenize
    from nmt.data import ReadReport, read_corpus

    config = translator.config
    gold = read_gold(args.gold, config.source_lang, config.target_lang)
    attention = attention_by_word(translator, [(g.source, g.target) for g in gold])
    rows = {"attention, argmax": error_rate([argmax_links(a) for a in attention], gold)}
    rows["diagonal"] = error_rate([diagonal(len(g.source), len(g.target)) for g in gold], gold)
    if args.eflomal_data:
        langs = (config.source_lang, config.target_lang)
        pairs = list(read_corpus(args.eflomal_data, *langs, config.max_chars, ReadReport()))
        sources = [g.source for g in gold] + [tokenize(s, config.source_lang) for s, _ in pairs]
        targets = [g.target for g in gold] + [tokenize(t, config.target_lang) for _, t in pairs]
        rows[f"eflomal (gold + {len(pairs)} pairs)"] = error_rate(eflomal_links(sources, targets)[: len(gold)], gold)
    print(f"{'method':<40} {'AER':>6} {'P':>6} {'R':>6}")
    for name, row in rows.items():
        print(f"{name:<40} {row['aer']:>6.3f} {row['precision']:>6.3f} {row['recall']:>6.3f}")
    print(json.dumps({"pairs": len(gold), "gold": str(args.gold), "checkpoint": str(args.checkpoint), **rows}))
    return 0


def main(argv=None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if args.command in ("evaluate", "align") and args.src_file and not args.ref_file:
        parser.error("--src-file needs --ref-file")
    if getattr(args, "beam", None) is not None and not 1 <= args.beam <= 64:
        parser.error(f"--beam must be between 1 and 64, got {args.beam}")
    if args.command == "publish-space":
        return _publish_space(args)
    if args.command == "fetch-data":
        return _fetch_data(args)

    from nmt.checkpoint import CheckpointError
    from nmt.translator import Translator, use_decoding_settings

    use_decoding_settings()
    try:
        translator = Translator.load(args.checkpoint)
    except CheckpointError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2

    if args.command == "translate":
        texts = args.text or [line.rstrip("\n") for line in sys.stdin]
        for line in translator.translate_texts(texts, args.beam):
            print(line)
        return 0
    if args.command == "calibrate":
        try:
            return _calibrate(args, translator)
        except (OSError, ValueError) as error:
            print(f"error: {error}", file=sys.stderr)
            return 2
    if args.command in ("align", "align-eval"):
        try:
            return _align(args, translator) if args.command == "align" else _align_eval(args, translator)
        except (OSError, ValueError) as error:
            print(f"error: {error}", file=sys.stderr)
            return 2

    from nmt.metrics import corpus_scores

    try:
        pairs = _read_pairs(args, translator.config)
    except (OSError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    if not pairs:
        print("error: no sentence pairs to score", file=sys.stderr)
        return 2
    started = time.time()
    hypotheses = translator.translate_texts([s for s, _ in pairs], args.beam)
    seconds = time.time() - started
    scores = corpus_scores(hypotheses, [t for _, t in pairs])
    print(f"BLEU {scores.bleu:.2f}  ({scores.bleu_signature})")
    print(f"chrF {scores.chrf:.2f}  ({scores.chrf_signature})")
    print(
        json.dumps(
            {
                "bleu": round(scores.bleu, 2),
                "chrf": round(scores.chrf, 2),
                "n": len(pairs),
                "seconds": round(seconds, 2),
                "beam": args.beam or translator.config.beam_size,
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
