"""Run configuration: one dataclass, read from ``config.ini`` (configparser) and overridable by flags.

``config.ini`` has a ``[DEFAULT]`` section and one section per language pair (``[fr-en]``, ``[ko-en]``);
every field below is a key there and a ``--flag`` of ``train.py``.
"""

from __future__ import annotations

import argparse
import configparser
import dataclasses
import json
from pathlib import Path

# Luong et al. (2015)'s score functions (nmt.attention); here so that reading a configuration (and
# `train.py --help`) does not load Keras.
SCORES = ("dot", "general", "concat")


@dataclasses.dataclass
class Config:
    # Data. `data` is a comma-separated list of corpora (see nmt.data.read_corpus for the forms), split
    # into training, validation and test; `train_data` corpora only ever add to the training split.
    source_lang: str = "fr"
    target_lang: str = "en"
    data: str = ""
    train_data: str = ""
    max_chars: int = 300
    valid_size: int = 1000
    test_size: int = 2000
    seed: int = 1234
    # Tokenizers and length limits (in pieces; longer training pairs are skipped and counted).
    source_vocab_size: int = 8000
    target_vocab_size: int = 8000
    max_pieces: int = 60
    # Model.
    embedding_dim: int = 256
    units: int = 512
    layers: int = 2
    bidirectional: bool = True
    # False starts the decoder from zeros, so everything it knows of the source comes through attention.
    init_decoder_from_encoder: bool = True
    score: str = "general"
    input_feeding: bool = True
    dropout: float = 0.2
    # Training. `max_minutes` (0 = no limit) stops at the first step past it; --resume continues from there.
    epochs: int = 20
    batch_tokens: int = 4096
    learning_rate: float = 0.002
    label_smoothing: float = 0.1
    # Weight of the guided-alignment loss (Chen et al. 2016): how strongly the alignment weights are
    # pulled towards eflomal's word alignments of the training data; 0 leaves attention to learn alone.
    guided_alignment: float = 0.0
    patience: int = 3
    max_minutes: float = 0.0
    # Decoding defaults (used for the test-split score and by the app).
    beam_size: int = 5
    length_penalty: float = 1.0
    max_output_pieces: int = 100
    # Where the checkpoint goes; transfer learning; publishing.
    output: str = ""
    init_from: str = ""
    # With init_from: also start the encoder LSTMs from the parent's (never the source embeddings,
    # which belong to another language).
    transfer_encoder: bool = False
    # With init_from: the layers taken from the parent stay fixed for this many epochs, so the new
    # encoder learns to feed them before their trained weights move.
    freeze_transferred_epochs: int = 0
    push_to_hub: str = ""

    def __post_init__(self):
        if self.score not in SCORES:
            raise ValueError(f"score must be one of {SCORES}, got {self.score!r}")
        if self.bidirectional and self.units % 2:
            raise ValueError(
                f"a bidirectional encoder splits units between directions: units={self.units} must be even"
            )
        for name in ("layers", "units", "embedding_dim", "epochs", "batch_tokens", "beam_size", "max_pieces"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1, got {getattr(self, name)}")
        if self.transfer_encoder and not self.init_from:
            raise ValueError("transfer_encoder needs init_from: the parent checkpoint to take the encoder from")
        if self.freeze_transferred_epochs < 0:
            raise ValueError(f"freeze_transferred_epochs must be at least 0, got {self.freeze_transferred_epochs}")
        if self.freeze_transferred_epochs and not self.init_from:
            raise ValueError("freeze_transferred_epochs needs init_from: without a parent nothing is transferred")
        if self.guided_alignment < 0:
            raise ValueError(f"guided_alignment must be at least 0, got {self.guided_alignment}")
        if not 0 <= self.dropout < 1:
            raise ValueError(f"dropout must be in [0, 1), got {self.dropout}")

    @property
    def pair(self) -> str:
        return f"{self.source_lang}-{self.target_lang}"

    def to_json(self) -> str:
        return json.dumps(dataclasses.asdict(self), indent=2, ensure_ascii=False)

    @classmethod
    def from_dict(cls, values: dict) -> Config:
        known = {f.name: f for f in dataclasses.fields(cls)}
        unknown = sorted(set(values) - set(known))
        if unknown:
            raise ValueError(f"unknown configuration keys: {', '.join(unknown)}")
        return cls(**{name: _parse(known[name], value) for name, value in values.items()})


def _parse(field: dataclasses.Field, value):
    """Converts an INI or command-line string to the field's type; JSON values pass through."""
    if not isinstance(value, str) or field.type == "str":
        return value
    if field.type == "bool":
        lowered = value.strip().lower()
        if lowered not in ("true", "false", "yes", "no", "1", "0", "on", "off"):
            raise ValueError(f"{field.name}: expected a boolean, got {value!r}")
        return lowered in ("true", "yes", "1", "on")
    try:
        return {"int": int, "float": float}[field.type](value)
    except ValueError:
        raise ValueError(f"{field.name}: expected {field.type}, got {value!r}") from None


def read_config(path, section: str, overrides: dict | None = None) -> Config:
    """The ``[section]`` of an INI file (with ``[DEFAULT]`` beneath it), then ``overrides`` on top.

    The section name is the language pair; ``source_lang``/``target_lang`` default to its two halves.
    """
    parser = configparser.ConfigParser()
    if not parser.read(path, encoding="utf-8"):
        raise FileNotFoundError(f"{path}: configuration file not found")
    if not parser.has_section(section):
        raise ValueError(f"{path}: no section [{section}] (sections: {', '.join(parser.sections())})")
    values = dict(parser[section])
    if "-" in section:
        values.setdefault("source_lang", section.split("-")[0])
        values.setdefault("target_lang", section.split("-")[1])
    values.update({k: v for k, v in (overrides or {}).items() if v is not None})
    values.setdefault("output", str(Path("checkpoints") / section))
    return Config.from_dict(values)


def ini_defaults(path) -> dict[str, str]:
    """The ``[DEFAULT]`` section of an INI file (empty if there is none), for ``--help``."""
    parser = configparser.ConfigParser()
    parser.read(path, encoding="utf-8")
    return dict(parser.defaults())


def add_override_flags(parser: argparse.ArgumentParser, defaults: dict[str, str] | None = None) -> None:
    """Adds one ``--flag`` per configuration field; a flag left out keeps the INI value. Each flag's
    help names the value in `defaults` (the INI's ``[DEFAULT]``; a pair's section may change it)."""
    group = parser.add_argument_group(
        "configuration overrides (default: the pair's section of the INI file, then its [DEFAULT])"
    )
    for field in dataclasses.fields(Config):
        flag = "--" + field.name.replace("_", "-")
        value = (defaults or {}).get(field.name)
        shown = f"[DEFAULT] {value}" if value is not None else f"built in: {field.default!r}"
        help_text = f"{shown}; one of {', '.join(SCORES)}" if field.name == "score" else shown
        if field.type == "bool":
            group.add_argument(
                flag, dest=field.name, action=argparse.BooleanOptionalAction, default=None, help=help_text
            )
        else:
            group.add_argument(flag, dest=field.name, default=None, metavar=field.type.upper(), help=help_text)


def overrides_from(args: argparse.Namespace) -> dict:
    names = {f.name for f in dataclasses.fields(Config)}
    return {k: v for k, v in vars(args).items() if k in names and v is not None}
