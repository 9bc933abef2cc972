"""Trains one language pair from config.ini: `python train.py fr-en [--flag value ...]`."""

import argparse
import shlex
import sys

from nmt.config import add_override_flags, ini_defaults, overrides_from, read_config


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("pair", help="section of the configuration file, e.g. fr-en or ko-en")
    parser.add_argument("--config", default="config.ini", help="INI file (default: config.ini)")
    parser.add_argument("--resume", action="store_true", help="continue the interrupted run of this output")
    # The INI file is known before the flags are, so that --help can show its [DEFAULT] values.
    config_path = argparse.ArgumentParser(add_help=False)
    config_path.add_argument("--config", default="config.ini")
    add_override_flags(parser, ini_defaults(config_path.parse_known_args()[0].config))
    args = parser.parse_args()
    try:
        config = read_config(args.config, args.pair, overrides_from(args))
    except (ValueError, FileNotFoundError) as error:
        parser.error(str(error))

    from nmt.checkpoint import CheckpointError
    from nmt.training import train  # imported after parsing, so --help and bad flags answer at once

    try:
        train(config, resume=args.resume, command=shlex.join(["python", *sys.argv]))
    except (ValueError, OSError, CheckpointError) as error:
        sys.exit(f"error: {error}")


if __name__ == "__main__":
    main()
