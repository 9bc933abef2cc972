"""Self-contained checkpoint folders: written atomically, loaded without pickle, checked file by file.

A folder holds

- ``config.json``  the :class:`~nmt.config.Config` the model was trained with,
- ``weights.h5``   one HDF5 dataset per weight, grouped by layer name (float16 by default),
- ``source.spm`` / ``target.spm``  the SentencePiece models,
- ``manifest.json`` SHA-256 of the four files above, so a truncated, edited or swapped file is named,
- ``metrics.json`` and ``README.md`` (the model card): what it scores and how it was trained,
- ``examples.json`` a few held-out sentences with their references, for the app.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import shutil
import tempfile
from pathlib import Path

import h5py
import numpy as np

from nmt.config import Config
from nmt.model import Seq2Seq
from nmt.tokenizer import Tokenizer

CONFIG, WEIGHTS, SOURCE_SPM, TARGET_SPM = "config.json", "weights.h5", "source.spm", "target.spm"
MANIFEST, METRICS, CARD, EXAMPLES = "manifest.json", "metrics.json", "README.md", "examples.json"
REQUIRED = (CONFIG, WEIGHTS, SOURCE_SPM, TARGET_SPM, MANIFEST)


class CheckpointError(Exception):
    """A checkpoint folder is missing a file or holds one that is unreadable or inconsistent."""


@dataclasses.dataclass
class Checkpoint:
    config: Config
    model: Seq2Seq
    source_tokenizer: Tokenizer
    target_tokenizer: Tokenizer
    metrics: dict
    examples: list = dataclasses.field(default_factory=list)  # [{"source": ..., "reference": ...}]


def build_model(
    config: Config, source_tokenizer: Tokenizer, target_tokenizer: Tokenizer, to_load: bool = False
) -> Seq2Seq:
    """The model with its weights created, drawn at random to train; `to_load` skips the costly
    orthogonal initialisation of the recurrent kernels, for weights that are set right after."""
    model = Seq2Seq(config, source_tokenizer.vocab_size, target_tokenizer.vocab_size, recurrent_init=not to_load)
    model.build_weights()
    return model


# --------------------------------------------------------------------------------------------------
# Weights


def weighted_layers(model) -> dict:
    """Layer name → layer, for every layer that owns weights; names are fixed by the model code."""
    return {layer.name: layer for layer in model.layers if layer.weights}


def write_weights(model, path, dtype: str = "float16") -> None:
    with h5py.File(path, "w") as f:
        for name, layer in weighted_layers(model).items():
            for i, weight in enumerate(layer.weights):
                f.create_dataset(f"{name}/{i}", data=np.asarray(weight).astype(dtype))


def read_weights(model, path, only: set[str] | None = None) -> list[str]:
    """Loads weights by layer name (all layers, or those in `only`); returns the names loaded.

    Every layer asked for must be in the file with weights of exactly the model's shapes.
    """
    loaded = []
    try:
        with h5py.File(path, "r") as f:
            for name, layer in weighted_layers(model).items():
                if only is not None and name not in only:
                    continue
                if name not in f:
                    raise CheckpointError(f"{path}: has no weights for layer {name!r}")
                if len(f[name]) != len(layer.weights):
                    raise CheckpointError(
                        f"{path}: layer {name!r} has {len(f[name])} weights, "
                        f"the configuration needs {len(layer.weights)}"
                    )
                for i, weight in enumerate(layer.weights):
                    value = f[name][str(i)][()]
                    if value.shape != tuple(weight.shape):
                        raise CheckpointError(
                            f"{path}: weight {name}/{i} has shape {value.shape}, "
                            f"the configuration needs {tuple(weight.shape)}"
                        )
                    weight.assign(value.astype(weight.dtype))
                loaded.append(name)
    except OSError as error:
        raise CheckpointError(f"{path}: unreadable weights file ({error})") from None
    return loaded


# --------------------------------------------------------------------------------------------------
# Folders


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def save_checkpoint(directory, checkpoint: Checkpoint, card: str) -> Path:
    """Writes the folder atomically: everything goes to a temporary sibling that replaces `directory`
    only once complete, so a crash never leaves a half-written checkpoint behind."""
    directory = Path(directory)
    directory.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{directory.name}.staging-", dir=directory.parent))
    try:
        (staging / CONFIG).write_text(checkpoint.config.to_json(), encoding="utf-8")
        write_weights(checkpoint.model, staging / WEIGHTS)
        checkpoint.source_tokenizer.save(staging / SOURCE_SPM)
        checkpoint.target_tokenizer.save(staging / TARGET_SPM)
        manifest = {name: _sha256(staging / name) for name in (CONFIG, WEIGHTS, SOURCE_SPM, TARGET_SPM)}
        (staging / MANIFEST).write_text(json.dumps(manifest, indent=2), encoding="utf-8")
        (staging / METRICS).write_text(json.dumps(checkpoint.metrics, indent=2, ensure_ascii=False), encoding="utf-8")
        (staging / CARD).write_text(card, encoding="utf-8")
        (staging / EXAMPLES).write_text(json.dumps(checkpoint.examples, indent=2, ensure_ascii=False), encoding="utf-8")
        staging.chmod(0o755)  # mkdtemp makes it private; a checkpoint is meant to be shared
        replace_directory(staging, directory)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return directory


def replace_file(path: Path, text: str) -> None:
    """Writes `text` to `path` whole or not at all: a flushed sibling file renamed over it."""
    staging = path.with_name(f".{path.name}.staging-{os.getpid()}")
    with open(staging, "w", encoding="utf-8") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    os.replace(staging, path)


def replace_directory(staging: Path, directory: Path) -> None:
    """Moves a complete `staging` folder to `directory`, replacing any folder there.

    Files are flushed to disk first; each rename is atomic, and the old folder is removed only after
    the new one is in place.
    """
    for file in staging.iterdir():
        with open(file, "rb") as f:
            os.fsync(f.fileno())
    retired = None
    if directory.exists():
        retired = directory.with_name(f".{directory.name}.retired-{os.getpid()}")
        os.rename(directory, retired)
    os.rename(staging, directory)
    if retired is not None:
        shutil.rmtree(retired)


@dataclasses.dataclass
class CheckedFolder:
    """A checkpoint folder whose files passed every check, its model not built yet: what a server needs
    to list the checkpoint; :meth:`load` builds the model."""

    directory: Path
    config: Config
    source_tokenizer: Tokenizer
    target_tokenizer: Tokenizer
    metrics: dict
    examples: list
    weights_sha256: str

    def load(self) -> Checkpoint:
        """The model built and its weights read (about half a second for a shipped checkpoint), from
        the weights that were checked: a folder replaced since (a retrain) raises CheckpointError."""
        if _sha256(self.directory / WEIGHTS) != self.weights_sha256:
            raise CheckpointError(f"{self.directory / WEIGHTS}: changed since it was checked; load the folder again")
        model = build_model(self.config, self.source_tokenizer, self.target_tokenizer, to_load=True)
        read_weights(model, self.directory / WEIGHTS)
        return Checkpoint(self.config, model, self.source_tokenizer, self.target_tokenizer, self.metrics, self.examples)


def check_checkpoint(directory) -> CheckedFolder:
    """Checks a checkpoint folder (its files, their hashes, the configuration and tokenizers) without
    building the model; any problem raises :class:`CheckpointError` naming the file."""
    directory = Path(directory)
    if not directory.is_dir():
        raise CheckpointError(f"{directory}: no such checkpoint folder")
    missing = [name for name in REQUIRED if not (directory / name).is_file()]
    if missing:
        raise CheckpointError(f"{directory}: missing {', '.join(missing)}")
    try:
        manifest = json.loads((directory / MANIFEST).read_text(encoding="utf-8"))
    except ValueError as error:
        raise CheckpointError(f"{directory / MANIFEST}: not valid JSON ({error})") from None
    for name in (CONFIG, WEIGHTS, SOURCE_SPM, TARGET_SPM):
        if manifest.get(name) != _sha256(directory / name):
            raise CheckpointError(
                f"{directory / name}: content does not match {MANIFEST} "
                "(the file is truncated, was changed, or comes from another checkpoint)"
            )
    try:
        config = Config.from_dict(json.loads((directory / CONFIG).read_text(encoding="utf-8")))
    except (ValueError, TypeError) as error:
        raise CheckpointError(f"{directory / CONFIG}: {error}") from None
    tokenizers = []
    for name in (SOURCE_SPM, TARGET_SPM):
        try:
            tokenizers.append(Tokenizer.load(directory / name))
        except (RuntimeError, ValueError, OSError) as error:
            raise CheckpointError(f"{directory / name}: not a usable SentencePiece model ({error})") from None
    metrics = _optional_json(directory / METRICS, dict)
    examples = _optional_json(directory / EXAMPLES, list)
    return CheckedFolder(directory, config, tokenizers[0], tokenizers[1], metrics, examples, manifest[WEIGHTS])


def load_checkpoint(directory) -> Checkpoint:
    """Loads and checks a checkpoint folder; any problem raises :class:`CheckpointError` naming the file."""
    return check_checkpoint(directory).load()


def _optional_json(path: Path, kind: type):
    """A JSON file the checkpoint may leave out (then an empty `kind`); unreadable, it is an error of
    this checkpoint alone, not of the program that loads it."""
    if not path.is_file():
        return kind()
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as error:
        raise CheckpointError(f"{path}: not valid JSON ({error})") from None
    if not isinstance(value, kind):
        raise CheckpointError(f"{path}: expected a JSON {'object' if kind is dict else 'array'}")
    if kind is list and not all(isinstance(e, dict) and {"source", "reference"} <= set(e) for e in value):
        raise CheckpointError(f"{path}: every example needs a source and a reference")
    return value


def resolve(spec: str) -> Path:
    """A local folder, or ``hf:OWNER/REPO[@REVISION]`` fetched from the Hugging Face Hub.

    Hub downloads go to the local Hugging Face cache and honour ``HF_HUB_OFFLINE``; a network or
    repository problem raises :class:`CheckpointError` at once, with the reason.
    """
    if not spec.startswith("hf:"):
        return Path(spec)
    repo_id, _, revision = spec[3:].partition("@")
    from huggingface_hub import snapshot_download
    from huggingface_hub.errors import HfHubHTTPError, LocalEntryNotFoundError, RepositoryNotFoundError

    try:
        return Path(snapshot_download(repo_id, revision=revision or None, etag_timeout=5))
    except (HfHubHTTPError, LocalEntryNotFoundError, RepositoryNotFoundError, OSError, ValueError) as error:
        raise CheckpointError(
            f"{spec}: could not fetch from the Hugging Face Hub ({type(error).__name__}: {error})"
        ) from None
