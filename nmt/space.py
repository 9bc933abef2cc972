"""Publishing the app as a Hugging Face Space: exactly the files it needs, uploaded in one commit.

The repository's history (old weights included) never goes to the Hub: :func:`space_files` lists the
app, the ``nmt`` package, the finished checkpoints, the runtime requirements, the licence, the
README (whose front matter configures the Space) with its screenshot, and ``.gitattributes``, whose
Git LFS patterns must cover every binary or large file; :func:`publish_space` uploads them with
``huggingface_hub``, which sends the LFS-tracked ones to the Hub's large-file storage.
"""

from __future__ import annotations

import fnmatch
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FRONT_MATTER_KEYS = ("title", "sdk", "sdk_version", "app_file", "python_version", "license")
# The Hub stores a plain (non-LFS) file only up to this size.
PLAIN_FILE_LIMIT = 10 * 1024 * 1024


def front_matter(readme: str) -> dict[str, str]:
    """The ``key: value`` lines between the README's opening ``---`` lines."""
    lines = readme.splitlines()
    if not lines or lines[0] != "---" or "---" not in lines[1:]:
        raise ValueError("README.md must start with a front matter block between --- lines")
    block = lines[1 : lines.index("---", 1)]
    return {k.strip(): v.strip().strip('"') for k, _, v in (line.partition(":") for line in block) if k.strip()}


def space_files(root: Path = ROOT) -> dict[str, Path]:
    """Path in the Space → local file, for everything the Space runs on and nothing else."""
    names = ("app.py", "requirements.txt", "README.md", "LICENSE", ".gitattributes", "docs/screenshot.png")
    files = {name: root / name for name in names}
    files |= {f"nmt/{p.name}": p for p in sorted((root / "nmt").glob("*.py"))}
    for folder in sorted((root / "checkpoints").iterdir()):
        if folder.is_dir() and not folder.name.startswith(".") and (folder / "manifest.json").is_file():
            files |= {f"checkpoints/{folder.name}/{p.name}": p for p in sorted(folder.iterdir()) if p.is_file()}
    missing = [name for name, path in files.items() if not path.is_file()]
    if missing:
        raise FileNotFoundError(f"missing for the Space: {', '.join(missing)}")
    settings = front_matter(files["README.md"].read_text(encoding="utf-8"))
    absent = [key for key in FRONT_MATTER_KEYS if key not in settings]
    if absent or settings["sdk"] != "gradio" or settings["app_file"] not in files:
        raise ValueError(f"README.md front matter: needs {', '.join(FRONT_MATTER_KEYS)}, sdk gradio, an app_file")
    patterns = lfs_patterns(files[".gitattributes"].read_text(encoding="utf-8"))
    untracked = [name for name, path in files.items() if needs_lfs(path) and not lfs_tracked(name, patterns)]
    if untracked:
        raise ValueError(f".gitattributes: Git LFS must track {', '.join(untracked)} (binary or over 10 MB)")
    return files


def lfs_patterns(gitattributes: str) -> list[str]:
    """The patterns of a ``.gitattributes`` text whose files go through the ``lfs`` filter."""
    return [
        fields[0]
        for fields in (line.split() for line in gitattributes.splitlines())
        if fields and not fields[0].startswith("#") and "filter=lfs" in fields[1:]
    ]


def lfs_tracked(name: str, patterns: list[str]) -> bool:
    """Whether Git matches path `name` by one of `patterns` (a pattern without ``/`` matches the file name)."""
    return any(fnmatch.fnmatch(name if "/" in p else name.rsplit("/", 1)[-1], p) for p in patterns)


def needs_lfs(path: Path) -> bool:
    """Files the Hub takes only through LFS: over 10 MB, or binary (a NUL byte in the first 8 KB, as Git tests)."""
    if path.stat().st_size > PLAIN_FILE_LIMIT:
        return True
    with open(path, "rb") as f:
        return b"\0" in f.read(8192)


def publish_space(repo_id: str, root: Path = ROOT, private: bool = False) -> str:
    """Creates (or updates) the Space `repo_id` with :func:`space_files` in one commit; returns its URL."""
    from huggingface_hub import CommitOperationAdd, HfApi

    files = space_files(root)
    api = HfApi()
    url = api.create_repo(repo_id, repo_type="space", space_sdk="gradio", private=private, exist_ok=True)
    api.create_commit(
        repo_id,
        repo_type="space",
        operations=[CommitOperationAdd(name, path) for name, path in files.items()],
        commit_message="Publish the app and its checkpoints",
    )
    return str(url)
