import argparse

import pytest

from nmt.config import Config, add_override_flags, overrides_from, read_config

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
    assert config.output == "checkpoints/fr-en"
    ko = read_config(ini, "ko-en")
    assert (ko.source_lang, ko.units, ko.source_vocab_size, ko.bidirectional) == ("ko", 128, 2000, True)


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
    with pytest.raises(ValueError, match="transfer_encoder needs init_from"):
        read_config(ini, "fr-en", {"transfer_encoder": "true"})
    with pytest.raises(ValueError, match="freeze_transferred_epochs needs init_from"):
        read_config(ini, "fr-en", {"freeze_transferred_epochs": "2"})
    with pytest.raises(ValueError, match="freeze_transferred_epochs must be at least 0"):
        read_config(ini, "fr-en", {"freeze_transferred_epochs": "-1", "init_from": "checkpoints/fr-en"})
    with pytest.raises(ValueError, match="unknown configuration keys: colour"):
        Config.from_dict({"colour": "blue"})


def test_the_shipped_config_ini_parses():
    from conftest import ROOT

    for pair in ("fr-en", "ko-en"):
        config = read_config(ROOT / "config.ini", pair)
        assert config.pair == pair and config.data


def test_json_round_trip():
    import json

    config = Config(units=64, score="concat")
    assert Config.from_dict(json.loads(config.to_json())) == config


def test_help_names_each_flag_s_ini_default_and_loads_no_keras(tmp_path):
    import subprocess
    import sys

    from conftest import ROOT

    (tmp_path / "my.ini").write_text("[DEFAULT]\ndropout = 0.33\n\n[fr-en]\n")
    code = (
        "import runpy, sys; sys.argv = ['train.py', '--config', sys.argv[1], '--help'];"
        "sys.path.insert(0, '.');\ntry: runpy.run_path('train.py', run_name='__main__')\n"
        "except SystemExit: print('keras' in sys.modules)"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, str(tmp_path / "my.ini")], capture_output=True, text=True, cwd=ROOT, timeout=60
    )
    assert "--dropout FLOAT       [DEFAULT] 0.33" in done.stdout
    assert "--score STR           built in: 'general'; one of dot, general, concat" in done.stdout
    assert done.stdout.strip().endswith("False"), "--help answers without loading Keras"
