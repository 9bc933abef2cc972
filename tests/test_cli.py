import json
import subprocess
import sys

from conftest import ROOT


def _nmt(*args, stdin=None):
    return subprocess.run(
        [sys.executable, "-m", "nmt", *map(str, args)],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=300,
        cwd=ROOT,
    )


def test_translate_arguments_and_standard_input(trained_checkpoint, translator):
    expected = translator.translate_texts(["Je suis content.", "Il fait froid."], beam_size=2)
    done = _nmt("translate", "--checkpoint", trained_checkpoint, "--beam", 2, "Je suis content.", "Il fait froid.")
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == expected
    done = _nmt(
        "translate", "--checkpoint", trained_checkpoint, "--beam", 2, stdin="Je suis content.\nIl fait froid.\n"
    )
    assert done.stdout.splitlines() == expected


def test_evaluate_prints_scores_and_a_json_last_line(trained_checkpoint, tmp_path):
    sources, references = tmp_path / "test.fr", tmp_path / "test.en"
    sources.write_text("Je suis content.\nIl fait froid.\nTom est là.\n")
    references.write_text("I'm happy.\nIt's cold.\nTom is here.\n")
    done = _nmt(
        "evaluate", "--checkpoint", trained_checkpoint, "--src-file", sources, "--ref-file", references, "--beam", 1
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].startswith("BLEU ") and "tok:13a" in lines[0] and lines[1].startswith("chrF ")
    last = json.loads(lines[-1])
    assert last["n"] == 3 and last["beam"] == 1 and 0 <= last["bleu"] <= 100 and last["seconds"] > 0

    tsv = tmp_path / "pairs.txt"
    tsv.write_text("I'm happy.\tJe suis content.\nIt's cold.\tIl fait froid.\nTom is here.\tTom est là.\n")
    done = _nmt("evaluate", "--checkpoint", trained_checkpoint, "--data", tsv, "--limit", 2, "--beam", 1)
    assert json.loads(done.stdout.splitlines()[-1])["n"] == 2


def test_errors_are_messages_not_tracebacks(tmp_path, trained_checkpoint):
    done = _nmt("translate", "--checkpoint", tmp_path / "missing", "Bonjour")
    assert done.returncode == 2 and "no such checkpoint folder" in done.stderr and "Traceback" not in done.stderr
    done = _nmt("evaluate", "--checkpoint", trained_checkpoint, "--data", tmp_path / "none.txt")
    assert done.returncode == 2 and "none.txt" in done.stderr and "Traceback" not in done.stderr
    done = _nmt("translate", "--checkpoint", trained_checkpoint, "--beam", 0, "Bonjour")
    assert done.returncode == 2 and "--beam must be between 1 and 64" in done.stderr


def test_odd_lines_on_standard_input_are_translated_not_fatal(trained_checkpoint):
    lines = ["", "   ", "\x00\u200b\u202e", "<script>alert(1)</script>", "😀", "톰은 집에 있어요.", "Bonjour. " * 300]
    done = _nmt("translate", "--checkpoint", trained_checkpoint, "--beam", 1, stdin="\n".join(lines) + "\n")
    assert done.returncode == 0 and "Traceback" not in done.stderr
    assert len(done.stdout.split("\n")) - 1 == len(lines)  # one output line per input line
