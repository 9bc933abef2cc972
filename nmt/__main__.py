"""Command line: ``python -m nmt translate ...`` and ``python -m nmt evaluate ...``."""

from __future__ import annotations

import argparse
import json
import sys
import time


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m nmt", description="Translate with or evaluate a checkpoint.")
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
    return parser


def _read_pairs(args, config):
    from nmt.data import ReadReport, read_corpus, read_parallel_files

    report = ReadReport()
    if args.data:
        pairs = read_corpus(args.data, config.source_lang, config.target_lang, config.max_chars, report)
    else:
        pairs = read_parallel_files(args.src_file, args.ref_file, config.max_chars, report)
    print(f"{args.data or args.src_file}: {report}", file=sys.stderr)
    return pairs[: args.limit] if args.limit else pairs


def main(argv=None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if args.command == "evaluate" and args.src_file and not args.ref_file:
        parser.error("--src-file needs --ref-file")
    if args.beam is not None and not 1 <= args.beam <= 64:
        parser.error(f"--beam must be between 1 and 64, got {args.beam}")

    from nmt.checkpoint import CheckpointError
    from nmt.translator import Translator, use_decoding_threads

    use_decoding_threads()
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
