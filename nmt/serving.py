"""Which checkpoints the app serves, and when their models are built.

Every named checkpoint is checked before the app starts, so a broken one is reported at the top of
the page; its model is built on first use, so the app answers its first request without waiting for
the other pairs' models.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator, Mapping
from pathlib import Path

from nmt.checkpoint import CheckedFolder, CheckpointError, check_checkpoint, resolve
from nmt.translator import Translator

log = logging.getLogger("nmt.app")


class ServedPairs(Mapping):
    """Pair name → :class:`Translator`, in the order the pairs were added. Each model is built once,
    on first use: by :func:`warm_up` or by the first request for that pair, whichever comes first; a
    request for another pair does not wait for it. A model that cannot be built fails every request
    for its pair with the same error, without trying again."""

    def __init__(self) -> None:
        self._folders: dict[str, CheckedFolder] = {}
        self._built: dict[str, Translator | CheckpointError] = {}
        self._building: dict[str, threading.Lock] = {}

    def add(self, name: str, folder: CheckedFolder) -> None:
        self._folders[name] = folder
        self._building[name] = threading.Lock()

    def folder(self, name: str) -> CheckedFolder:
        """The pair's checked folder (configuration, tokenizers, metrics), without building its model."""
        return self._folders[name]

    def __getitem__(self, name: str) -> Translator:
        folder = self._folders[name]
        with self._building[name]:
            if name not in self._built:
                try:
                    self._built[name] = Translator(folder.load())
                except CheckpointError as error:
                    self._built[name] = error
        built = self._built[name]
        if isinstance(built, CheckpointError):
            raise built
        return built

    def __contains__(self, name) -> bool:  # without building (Mapping's would)
        return name in self._folders

    def __iter__(self) -> Iterator[str]:
        return iter(self._folders)

    def __len__(self) -> int:
        return len(self._folders)


def warm_up(pairs: Mapping[str, Translator]) -> None:
    """Builds each pair's model and traces its two compiled searches (beam, then greedy), which the
    first call of each would otherwise wait for. The app runs this in the background while it starts
    serving; a request that comes first builds and traces what it needs itself. Under TensorFlow one
    trace serves every request; under JAX the search compiles again for each batch shape and beam size."""
    for name in pairs:
        try:
            translator = pairs[name]
            for beam_size in (2, 1):
                translator.translate(["warm up"], beam_size=beam_size)
        except Exception:  # the pair's requests will report it; the others still warm up
            log.exception("%s: building or tracing it failed", name)
            continue
        log.info("%s: searches traced", name)


def checkpoint_specs(named, environment: str, folder: Path) -> list[str]:
    """What to serve: the `named` specs, else the comma-separated `environment` value, else every
    finished checkpoint under `folder` (not hidden staging folders, not a run's ``*.training`` state)."""
    if named:
        return list(named)
    if environment.strip():
        return [s.strip() for s in environment.split(",") if s.strip()]
    return sorted(
        str(p)
        for p in folder.iterdir()
        if p.is_dir() and not p.name.startswith(".") and not p.name.endswith(".training")
    )


def load_pairs(specs) -> tuple[ServedPairs, dict[str, str], list]:
    """Checks each checkpoint (a folder, or ``hf:OWNER/REPO[@REVISION]``); its model is built on first
    use.

    A local folder is named by its folder name, a Hub checkpoint by the pair in its configuration; a
    name already taken gets its spec added, so no checkpoint hides another. Returns the pairs that
    passed, the reasons of those that did not (keyed by name, local paths left out: visitors read
    them), and example rows (held-out sentences with their references) from each checkpoint.
    """
    pairs, failures, examples = ServedPairs(), {}, []
    for spec in specs:
        hub = spec.startswith("hf:")
        name = spec if hub else Path(spec).resolve().name
        path = None
        try:
            path = resolve(spec)
            folder = check_checkpoint(path)
        except CheckpointError as error:
            log.error("not serving %s: %s", spec, error)
            failures[name] = str(error) if path is None else str(error).replace(str(path), name)
            continue
        if hub:
            name = folder.config.pair
        if name in pairs:
            log.warning("%s: %s is taken by another checkpoint; serving this one as %s (%s)", spec, name, name, spec)
            name = f"{name} ({spec})"
        pairs.add(name, folder)
        examples += [(e["source"], name, e["reference"]) for e in folder.examples]
    return pairs, failures, examples
