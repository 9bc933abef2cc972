import argparse
import dataclasses
from pathlib import Path

import pytest

from nmt.config import PATH_KEYS, Config, add_override_flags, overrides_from, read_config

INI = """
[DEFAULT]
units = 128
bidirectional = true
dropout = 0.1

[fr-en]
data = corpus.txt
units = 256

[ko-en]
source_vocab_size = 2000
"""


@pytest.fixture
def ini(tmp_path):
    path = tmp_path / "config.ini"
    path.write_text(INI)
    return path


def test_section_over_default_and_pair_from_section_name(ini):
    config = read_config(ini, "fr-en")
    assert (config.source_lang, config.target_lang, config.units, config.dropout) == ("fr", "en", 256, 0.1)
    assert Path(config.output).resolve() == ini.parent / "checkpoints" / "fr-en"
    ko = read_config(ini, "ko-en")
    assert (ko.source_lang, ko.units, ko.source_vocab_size, ko.bidirectional) == ("ko", 128, 2000, True)


def test_paths_of_the_file_are_relative_to_its_folder_and_those_of_flags_to_the_working_directory(
    ini, tmp_path, monkeypatch
):
    ini.write_text(INI + "init_from = ../parent\ntrain_data = more.tsv:fr:en,/abs/other.txt\n")
    elsewhere = tmp_path / "somewhere" / "else"
    elsewhere.mkdir(parents=True)
    monkeypatch.chdir(elsewhere)
    assert Path(read_config(ini, "fr-en").data).resolve() == tmp_path / "corpus.txt"
    config = read_config(ini, "ko-en")
    assert Path(config.init_from).resolve() == tmp_path.parent / "parent"
    more, absolute = config.train_data.split(",")
    assert more.endswith(":fr:en") and Path(more.removesuffix(":fr:en")).resolve() == tmp_path / "more.tsv"
    assert absolute == "/abs/other.txt"
    assert read_config(ini, "ko-en", {"data": "mine.txt", "init_from": "hf:me/parent"}).data == "mine.txt"
    assert read_config(ini, "ko-en", {"init_from": "hf:me/parent"}).init_from == "hf:me/parent"


def test_the_defaults_live_in_the_dataclass_and_the_shipped_ini_holds_only_what_pairs_change():
    import configparser

    from conftest import ROOT

    parser = configparser.ConfigParser()
    parser.read(ROOT / "config.ini")
    assert not parser.defaults(), "no [DEFAULT]: Config's defaults are the only ones"
    defaults = {f.name: f.default for f in dataclasses.fields(Config)}
    for pair in parser.sections():
        config = read_config(ROOT / "config.ini", pair)
        for key in parser[pair]:
            assert key in defaults, key
            if key not in PATH_KEYS:
                assert getattr(config, key) != defaults[key], f"[{pair}] {key} repeats the default"
    assert all(f.metadata["help"] for f in dataclasses.fields(Config)), "every setting says what it means"


def test_command_line_flags_override_the_file(ini):
    parser = argparse.ArgumentParser()
    add_override_flags(parser)
    args = parser.parse_args(["--units", "64", "--no-bidirectional", "--score", "concat", "--max-minutes", "1.5"])
    config = read_config(ini, "fr-en", overrides_from(args))
    assert (config.units, config.bidirectional, config.score, config.max_minutes) == (64, False, "concat", 1.5)
    assert config.dropout == 0.1  # not given on the command line: kept from the file


def test_bad_values_are_reported_with_their_key(ini):
    with pytest.raises(ValueError, match="units: expected int"):
        read_config(ini, "fr-en", {"units": "many"})
    with pytest.raises(ValueError, match="score must be one of"):
        read_config(ini, "fr-en", {"score": "cosine"})
    with pytest.raises(ValueError, match="bidirectional: expected a boolean"):
        read_config(ini, "fr-en", {"bidirectional": "maybe"})
    with pytest.raises(ValueError, match=r"no section \[de-en\]"):
        read_config(ini, "de-en")
    with pytest.raises(ValueError, match="transfer_encoder was set, and this version no longer has it"):
        read_config(ini, "fr-en", {"transfer_encoder": "true"})
    with pytest.raises(ValueError, match="unknown configuration keys: colour"):
        Config.from_dict({"colour": "blue"})


def test_the_shipped_config_ini_parses():
    from conftest import ROOT

    for pair in ("fr-en", "ko-en"):
        config = read_config(ROOT / "config.ini", pair)
        assert config.pair == pair and config.data


def test_a_checkpoint_naming_removed_settings_switched_off_still_loads():
    assert Config.from_dict({"units": 64, "transfer_encoder": False, "freeze_transferred_epochs": 0}).units == 64
    with pytest.raises(ValueError, match="freeze_transferred_epochs was set"):
        Config.from_dict({"freeze_transferred_epochs": 2})


def test_json_round_trip():
    import json

    config = Config(units=64, score="concat")
    assert Config.from_dict(json.loads(config.to_json())) == config


def test_help_gives_each_setting_its_meaning_default_and_choices_lists_the_pairs_and_loads_no_keras():
    import subprocess
    import sys

    from conftest import ROOT

    code = (
        "import runpy, sys; sys.argv = ['train.py', '--help'];"
        "\ntry: runpy.run_path('train.py', run_name='__main__')\n"
        "except SystemExit: print('keras' in sys.modules)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=60)
    text = " ".join(done.stdout.split())
    assert "Pairs of config.ini: fr-en, ko-en." in text
    assert "--dropout FLOAT dropout rate of embeddings and LSTM outputs, in [0, 1) (default: 0.4)" in text
    assert "(default: 'general'; one of dot, general, concat)" in text
    assert all(f"--{f.name.replace('_', '-')} " in text for f in dataclasses.fields(Config))
    assert done.stdout.strip().endswith("False"), "--help answers without loading Keras"
    assert not done.stderr
