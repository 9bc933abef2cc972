"""Run configuration: one dataclass holding every setting's default and meaning, read from an INI
file (configparser) and overridable by flags.

``config.ini`` has one section per language pair (``[fr-en]``, ``[ko-en]``) with what that pair changes;
every field below is a key there and a ``--flag`` of ``train.py``. Relative paths in the file are
relative to the file's folder, so ``train.py`` runs from any directory.
"""

from __future__ import annotations

import argparse
import configparser
import dataclasses
import json
import os
from pathlib import Path

# Luong et al. (2015)'s score functions (nmt.attention); here so that reading a configuration (and
# `train.py --help`) does not load Keras.
SCORES = ("dot", "general", "concat")
PRECISIONS = ("auto", "float32", "mixed_bfloat16", "mixed_float16")


# Settings that were measured, lost and removed (docs/experiments.md, "Transfer learning"): a
# checkpoint's config.json may still name them, switched off.
RETIRED = {"transfer_encoder": False, "freeze_transferred_epochs": 0}


def _parse_retired(value):
    return value if not isinstance(value, str) else value.strip().lower() not in ("false", "0", "no", "off", "")


def option(default, help: str, choices=None):
    """A configuration field: its default and what it means, shown by ``train.py --help``."""
    return dataclasses.field(default=default, metadata={"help": help, "choices": choices})


@dataclasses.dataclass
class Config:
    """Every setting of a run, with its default. ``config.ini`` holds only what a language pair changes."""

    # Data.
    source_lang: str = option("fr", "source language code; a section named like fr-en sets it to the first half")
    target_lang: str = option("en", "target language code; a section named like fr-en sets it to the second half")
    data: str = option(
        "",
        "corpora to split into training, validation and test, comma-separated: Tatoeba/manythings TSV, "
        "FILE.tsv:SRC:TGT, line-aligned PREFIX (PREFIX.SRC + PREFIX.TGT) or an AI-Hub .xlsx",
    )
    train_data: str = option("", "corpora (same forms) added to the training split only")
    max_chars: int = option(300, "pairs with a side longer than this many characters are skipped and counted")
    valid_size: int = option(1000, "validation pairs (one per English sentence)")
    test_size: int = option(2000, "test pairs (one per English sentence)")
    seed: int = option(1234, "seed of the split, the batch order and the initial weights")
    stream_pairs: int = option(
        0,
        "read the training corpora as a stream, this many pairs at a time: each chunk is shuffled and "
        "bucketed in memory and trained as one epoch, so memory stays flat however large the corpora "
        "(0: every pair in memory, and an epoch is one pass over all of them)",
    )
    # Tokenizers and length limits.
    source_vocab_size: int = option(8000, "source SentencePiece vocabulary, 256 byte pieces included")
    target_vocab_size: int = option(8000, "target SentencePiece vocabulary (a transfer keeps the parent's)")
    max_pieces: int = option(60, "training pairs with a side longer than this many pieces are skipped")
    tokenizer_sample: int = option(200_000, "SentencePiece trains on a uniform sample of at most this many pairs")
    # Model.
    embedding_dim: int = option(256, "embedding size of both sides")
    units: int = option(512, "LSTM units per layer (a bidirectional encoder gives half to each direction)")
    layers: int = option(2, "stacked LSTM layers, encoder and decoder each")
    bidirectional: bool = option(True, "bidirectional encoder")
    # Started from the encoder's final state, the decoder of short sentences learns to ignore attention
    # (all weight on one summary position); started from zeros, it must attend to translate.
    init_decoder_from_encoder: bool = option(False, "start the decoder from the encoder's final state, not zeros")
    score: str = option("general", "Luong et al.'s attention score function", SCORES)
    input_feeding: bool = option(True, "feed the attentional hidden state into the next decoder step")
    dropout: float = option(0.4, "dropout rate of embeddings and LSTM outputs, in [0, 1)")
    # Training.
    epochs: int = option(30, "most epochs")
    batch_tokens: int = option(4096, "padded tokens per batch (batches group pairs of similar length)")
    learning_rate: float = option(0.002, "Adam's initial learning rate, halved when the validation loss stalls")
    label_smoothing: float = option(0.1, "label smoothing of the cross-entropy")
    guided_alignment: float = option(
        0.0,
        "weight of a loss pulling the alignment weights towards eflomal's word alignments of the "
        "training data (Chen et al. 2016); 0 leaves attention to learn alone",
    )
    precision: str = option(
        "auto",
        "dtype policy of training; auto: mixed_bfloat16 where the hardware computes in bfloat16 (GPUs of "
        "compute capability 8+, CPUs with AVX512-BF16 or AMX), mixed_float16 on older GPUs, else float32",
        PRECISIONS,
    )
    patience: int = option(3, "stop after this many epochs without a better validation loss")
    max_minutes: float = option(0.0, "stop at the first step past this many minutes (0: no limit); --resume goes on")
    # Decoding defaults (the test-split score and the app).
    beam_size: int = option(5, "beam size (1: greedy)")
    length_penalty: float = option(1.0, "α of the GNMT length penalty ((5 + length) / 6)^α of beam scores; 0: none")
    max_output_pieces: int = option(100, "longest translation, in pieces")
    # Where the checkpoint goes; transfer learning; publishing.
    output: str = option("", "checkpoint folder (default: checkpoints/PAIR beside the INI file)")
    init_from: str = option("", "transfer learning: start from this parent checkpoint's target side and decoder")
    push_to_hub: str = option("", "upload the finished checkpoint to this Hugging Face model repository")

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
        if self.precision not in PRECISIONS:
            raise ValueError(f"precision must be one of {', '.join(PRECISIONS)}, got {self.precision!r}")
        if self.guided_alignment < 0:
            raise ValueError(f"guided_alignment must be at least 0, got {self.guided_alignment}")
        if self.stream_pairs < 0 or self.tokenizer_sample < 1:
            raise ValueError("stream_pairs must be at least 0 and tokenizer_sample at least 1")
        if self.stream_pairs and self.guided_alignment:
            raise ValueError(
                "guided alignment needs every training pair in memory (eflomal aligns them all at once): "
                "set stream_pairs = 0 or guided_alignment = 0"
            )
        if not 0 <= self.dropout < 1:
            raise ValueError(f"dropout must be in [0, 1), got {self.dropout}")

    @property
    def pair(self) -> str:
        return f"{self.source_lang}-{self.target_lang}"

    def to_json(self) -> str:
        return json.dumps(dataclasses.asdict(self), indent=2, ensure_ascii=False)

    @classmethod
    def from_dict(cls, values: dict) -> Config:
        values = dict(values)
        for key, off in RETIRED.items():
            if key in values and _parse_retired(values.pop(key)) != off:
                raise ValueError(f"{key} was set, and this version no longer has it (docs/experiments.md: it lost)")
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


# Keys whose values are paths (comma-separated lists of them for the corpora).
PATH_KEYS = ("data", "train_data", "init_from", "output")


def read_config(path, section: str, overrides: dict | None = None) -> Config:
    """The ``[section]`` of an INI file (with its ``[DEFAULT]``, if any, beneath it), then ``overrides``.

    The section name is the language pair; ``source_lang``/``target_lang`` default to its two halves.
    Relative paths of the file are taken from the file's folder; those of `overrides` (flags) from the
    working directory.
    """
    parser = configparser.ConfigParser()
    if not parser.read(path, encoding="utf-8"):
        raise FileNotFoundError(f"{path}: configuration file not found")
    if not parser.has_section(section):
        raise ValueError(f"{path}: no section [{section}] (sections: {', '.join(parser.sections())})")
    values = dict(parser[section])
    values.setdefault("output", str(Path("checkpoints") / section))
    folder = Path(path).parent
    for key in PATH_KEYS:
        if values.get(key):
            values[key] = _each_path(values[key], lambda item: _from_folder(folder, item))
    if "-" in section:
        values.setdefault("source_lang", section.split("-")[0])
        values.setdefault("target_lang", section.split("-")[1])
    values.update({k: v for k, v in (overrides or {}).items() if v is not None})
    return Config.from_dict(values)


def corpus_specs(value: str) -> list[str]:
    """The corpora of a ``data`` or ``train_data`` value: its comma-separated items, blanks left out."""
    return [item for item in (item.strip() for item in value.split(",")) if item]


def _each_path(value: str, change) -> str:
    """`value`, comma-separated paths (possibly ``FILE:SRC:TGT``) or ``hf:OWNER/REPO`` names, with
    `change` applied to each path."""
    items = (item.strip() for item in value.split(","))
    return ",".join(item if not item or item.startswith("hf:") else change(item) for item in items)


def _from_folder(folder: Path, item: str) -> str:
    """A path of the INI file in `folder` as seen from the working directory."""
    return item if Path(item).is_absolute() else os.path.relpath(folder / item)


def with_absolute_paths(config: Config) -> Config:
    """`config` with every path absolute and resolved (from the working directory): two configurations
    read in different folders are equal when they name the same files."""
    return dataclasses.replace(config, **{key: _each_path(getattr(config, key), os.path.realpath) for key in PATH_KEYS})


def sections(path) -> list[str]:
    """The language pairs (sections) of an INI file; none if it cannot be read."""
    parser = configparser.ConfigParser()
    parser.read(path, encoding="utf-8")
    return parser.sections()


def add_override_flags(parser: argparse.ArgumentParser) -> None:
    """Adds one ``--flag`` per configuration field, with its meaning, default and allowed values; a
    flag left out keeps the INI value."""
    group = parser.add_argument_group("settings (default: the pair's section of the INI file, else the value shown)")
    for field in dataclasses.fields(Config):
        flag = "--" + field.name.replace("_", "-")
        choices = field.metadata["choices"]
        shown = f"; one of {', '.join(choices)}" if choices else ""
        help_text = f"{field.metadata['help']} (default: {field.default!r}{shown})".replace("%", "%%")
        if field.type == "bool":
            group.add_argument(
                flag, dest=field.name, action=argparse.BooleanOptionalAction, default=None, help=help_text
            )
        else:
            group.add_argument(flag, dest=field.name, default=None, metavar=field.type.upper(), help=help_text)


def overrides_from(args: argparse.Namespace) -> dict:
    names = {f.name for f in dataclasses.fields(Config)}
    return {k: v for k, v in vars(args).items() if k in names and v is not None}
