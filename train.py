"""Trains one language pair of config.ini: `python train.py fr-en [--flag value ...]`."""

import argparse
import shlex
import sys
from pathlib import Path

from nmt.config import add_override_flags, overrides_from, read_config, sections

CONFIG = Path(__file__).resolve().parent / "config.ini"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=f"{__doc__} Pairs of {CONFIG.name}: {', '.join(sections(CONFIG))}. A run saves its state "
        "in OUTPUT.training/ and ends with a checkpoint folder OUTPUT/ (config, weights, vocabularies, scores)."
    )
    parser.add_argument("pair", help=f"section of the configuration file ({', '.join(sections(CONFIG))}, ...)")
    parser.add_argument("--config", default=str(CONFIG), help=f"INI file (default: the {CONFIG.name} beside train.py)")
    parser.add_argument("--resume", action="store_true", help="continue the interrupted run of this output")
    add_override_flags(parser)
    args = parser.parse_args()
    try:
        config = read_config(args.config, args.pair, overrides_from(args))
    except (ValueError, FileNotFoundError) as error:
        parser.error(str(error))

    from nmt.checkpoint import CheckpointError
    from nmt.fitting import Interrupted
    from nmt.training import train  # imported after parsing, so --help and bad flags answer at once

    try:
        train(config, resume=args.resume, command=shlex.join(["python", *sys.argv]))
    except Interrupted as stopped:
        print(stopped, file=sys.stderr)
        sys.exit(128 + stopped.number)  # the shell's convention for a process stopped by a signal
    except (ValueError, OSError, CheckpointError) as error:
        sys.exit(f"error: {error}")


if __name__ == "__main__":
    main()
