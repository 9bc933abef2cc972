"""Publishing a Space: exactly the files the app needs, a valid front matter, no network."""

import shutil

import pytest

from conftest import ROOT
from nmt.space import front_matter, publish_space, space_files


def test_the_space_gets_the_app_the_package_and_finished_checkpoints_only():
    files = space_files()
    assert {"app.py", "requirements.txt", "README.md", "LICENSE", "nmt/__main__.py", "nmt/model.py"} <= set(files)
    for pair in ("fr-en", "ko-en"):
        assert {f"checkpoints/{pair}/{name}" for name in ("weights.h5", "config.json", "manifest.json")} <= set(files)
    assert not [name for name in files if name.startswith(("tests/", "bench/", "docs/", ".")) or "/." in name]
    assert "pytest" not in (ROOT / "requirements.txt").read_text(), "the Space installs the runtime only"
    settings = front_matter((ROOT / "README.md").read_text())
    assert settings["sdk"] == "gradio" and settings["app_file"] == "app.py" and settings["python_version"] == "3.11"


def test_unfinished_runs_stay_out_and_a_readme_without_front_matter_is_refused(tmp_path):
    for name in ("app.py", "requirements.txt", "LICENSE", "README.md"):
        shutil.copy(ROOT / name, tmp_path / name)
    shutil.copytree(ROOT / "nmt", tmp_path / "nmt", ignore=shutil.ignore_patterns("__pycache__"))
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
