"""Publishing a Space: exactly the files the app needs, a valid front matter, no network."""

import shutil

import pytest

from conftest import ROOT
from nmt.space import PLAIN_FILE_LIMIT, front_matter, lfs_patterns, lfs_tracked, needs_lfs, publish_space, space_files


def test_the_space_gets_the_app_the_package_and_finished_checkpoints_only():
    files = space_files()
    assert {"app.py", "requirements.txt", "README.md", "LICENSE", "nmt/__main__.py", "nmt/model.py"} <= set(files)
    assert {".gitattributes", "docs/screenshot.png"} <= set(files), "the Space's README shows the screenshot"
    for pair in ("fr-en", "ko-en"):
        assert {f"checkpoints/{pair}/{name}" for name in ("weights.h5", "config.json", "manifest.json")} <= set(files)
    extras = {".gitattributes", "docs/screenshot.png"}
    assert not [n for n in set(files) - extras if n.startswith(("tests/", "bench/", "docs/", ".")) or "/." in n]
    assert "pytest" not in (ROOT / "requirements.txt").read_text(), "the Space installs the runtime only"
    settings = front_matter((ROOT / "README.md").read_text())
    assert settings["sdk"] == "gradio" and settings["app_file"] == "app.py" and settings["python_version"] == "3.11"


def test_every_large_or_binary_file_of_the_space_is_tracked_by_git_lfs():
    files = space_files()
    patterns = lfs_patterns((ROOT / ".gitattributes").read_text())
    large = [name for name, path in files.items() if path.stat().st_size > PLAIN_FILE_LIMIT]
    assert {"checkpoints/fr-en/weights.h5", "checkpoints/ko-en/weights.h5"} <= set(large)
    assert all(needs_lfs(files[name]) and lfs_tracked(name, patterns) for name in large)
    assert needs_lfs(files["docs/screenshot.png"]) and lfs_tracked("docs/screenshot.png", patterns)
    assert not needs_lfs(files["app.py"]) and not lfs_tracked("app.py", patterns)
    assert lfs_tracked("checkpoints/fr-en/weights.h5", ["checkpoints/*/weights.h5"])
    assert not lfs_tracked("weights.h5.txt", ["*.h5"])


def _copy_space_sources(root):
    for name in ("app.py", "requirements.txt", "LICENSE", "README.md", ".gitattributes"):
        shutil.copy(ROOT / name, root / name)
    (root / "docs").mkdir()
    shutil.copy(ROOT / "docs" / "screenshot.png", root / "docs" / "screenshot.png")
    shutil.copytree(ROOT / "nmt", root / "nmt", ignore=shutil.ignore_patterns("__pycache__"))


def test_a_binary_file_outside_git_lfs_is_refused(tmp_path):
    _copy_space_sources(tmp_path)
    (tmp_path / "checkpoints").mkdir()
    shutil.copytree(ROOT / "checkpoints" / "ko-en", tmp_path / "checkpoints" / "ko-en")
    (tmp_path / ".gitattributes").write_text("*.png filter=lfs diff=lfs merge=lfs -text\n*.spm filter=lfs -text\n")
    with pytest.raises(ValueError, match="checkpoints/ko-en/weights.h5"):
        space_files(tmp_path)


def test_unfinished_runs_stay_out_and_a_readme_without_front_matter_is_refused(tmp_path):
    _copy_space_sources(tmp_path)
    (tmp_path / "checkpoints" / "fr-en.training").mkdir(parents=True)
    (tmp_path / "checkpoints" / "fr-en.training" / "last.h5").write_text("")
    assert not [name for name in space_files(tmp_path) if name.startswith("checkpoints/")]
    (tmp_path / "README.md").write_text("# no front matter\n")
    with pytest.raises(ValueError, match="front matter"):
        space_files(tmp_path)


def test_publish_makes_a_gradio_space_and_uploads_the_list_in_one_commit(monkeypatch):
    import huggingface_hub

    calls = {}

    class FakeApi:
        def create_repo(self, repo_id, **options):
            calls["repo"] = (repo_id, options)
            return f"https://huggingface.co/spaces/{repo_id}"

        def create_commit(self, repo_id, operations, **options):
            calls["commit"] = (repo_id, [op.path_in_repo for op in operations], options)

    monkeypatch.setattr(huggingface_hub, "HfApi", FakeApi)
    assert publish_space("me/demo") == "https://huggingface.co/spaces/me/demo"
    assert calls["repo"] == (
        "me/demo",
        {"repo_type": "space", "space_sdk": "gradio", "private": False, "exist_ok": True},
    )
    repo_id, uploaded, options = calls["commit"]
    assert repo_id == "me/demo" and options["repo_type"] == "space" and uploaded == list(space_files())
