"""Publishing the app as a Hugging Face Space: exactly the files it needs, uploaded in one commit.

The repository's history (old weights included) never goes to the Hub: :func:`space_files` lists the
app, the ``nmt`` package, the finished checkpoints, the runtime requirements, the licence and the
README (whose front matter configures the Space), and :func:`publish_space` uploads them with
``huggingface_hub``, which stores the large files with the Hub's large-file storage itself.
"""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FRONT_MATTER_KEYS = ("title", "sdk", "sdk_version", "app_file", "python_version", "license")


def front_matter(readme: str) -> dict[str, str]:
    """The ``key: value`` lines between the README's opening ``---`` lines."""
    lines = readme.splitlines()
    if not lines or lines[0] != "---" or "---" not in lines[1:]:
        raise ValueError("README.md must start with a front matter block between --- lines")
    block = lines[1 : lines.index("---", 1)]
    return {k.strip(): v.strip().strip('"') for k, _, v in (line.partition(":") for line in block) if k.strip()}


def space_files(root: Path = ROOT) -> dict[str, Path]:
    """Path in the Space → local file, for everything the Space runs on and nothing else."""
    files = {name: root / name for name in ("app.py", "requirements.txt", "README.md", "LICENSE")}
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
    return files


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
