import pytest

from conftest import FRA, KOR, NEWS
from nmt.data import (
    ReadReport,
    normalize,
    read_corpus,
    read_parallel_files,
    read_tatoeba,
    read_tsv,
    read_xlsx,
    split_by_english,
)


def test_normalize_folds_compatibility_forms_and_drops_invisible_characters():
    assert normalize("  Ｊｅ\u200b suis\u202e\x00 là\t\n ") == "Je suis là"
    assert normalize("ﬁn") == "fin"
    assert normalize(normalize("café  au lait")) == "café au lait"


def test_tatoeba_reads_french_as_source_for_fr_en():
    report = ReadReport()
    pairs = read_tatoeba(FRA, "fr", 300, report)
    assert len(pairs) == report.kept == 72475
    assert pairs[0] == ("Va !", "Go.")


def test_tatoeba_reads_english_as_source_for_en_ko_and_ignores_attribution():
    pairs = read_tatoeba(KOR, "en", 300, ReadReport())
    assert pairs[0] == ("Go.", "가.")
    assert read_tatoeba(KOR, "ko", 300, ReadReport())[1] == ("안녕.", "Hi.")


def test_malformed_empty_and_overlong_lines_are_counted_not_fatal(tmp_path):
    path = tmp_path / "bad.txt"
    path.write_text(
        "Hello.\tBonjour.\nno tab here\n\tonly target\nGood.\t\x00\u200b\n" + "x" * 400 + "\ty\n", encoding="utf-8"
    )
    report = ReadReport()
    assert read_tatoeba(path, "fr", 300, report) == [("Bonjour.", "Hello.")]
    assert report.kept == 1 and dict(report.skipped) == {"malformed": 1, "empty": 2, "over-long": 1}
    assert "kept 1 pairs" in str(report) and "1 malformed" in str(report)


def test_tsv_with_chosen_columns(tmp_path):
    path = tmp_path / "x.tsv"
    path.write_text("1\tun chat\ta cat\n2\tun chien\n", encoding="utf-8")
    report = ReadReport()
    assert read_corpus(f"{path}:1:2", "fr", "en", 300, report) == [("un chat", "a cat")]
    assert report.skipped["malformed"] == 1
    with pytest.raises(ValueError, match="FILE:SOURCE_COLUMN:TARGET_COLUMN"):
        read_corpus(f"{path}:1", "fr", "en", 300, ReadReport())


def test_line_aligned_files_from_the_news_corpus():
    report = ReadReport()
    pairs = read_corpus(str(NEWS), "ko", "en", 1000, report)
    assert report.kept + sum(report.skipped.values()) == 1000
    assert pairs[0][0].startswith("세계 에서 가장 강력한") and pairs[0][1].startswith("After keeping the world's")


def test_line_aligned_files_of_different_length_are_refused(tmp_path):
    (tmp_path / "a.ko").write_text("하나\n둘\n", encoding="utf-8")
    (tmp_path / "a.en").write_text("one\n", encoding="utf-8")
    with pytest.raises(ValueError, match="same number of lines"):
        read_parallel_files(tmp_path / "a.ko", tmp_path / "a.en", 300, ReadReport())


def test_ai_hub_spreadsheet(tmp_path):
    import openpyxl

    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["ID", "원문", "번역문"])
    korean = read_tatoeba(KOR, "ko", 300, ReadReport())[100:103]
    for i, (ko, en) in enumerate(korean):
        sheet.append([i, ko, en])
    sheet.append([9, None, "orphan"])
    book.save(tmp_path / "ai-hub.xlsx")
    report = ReadReport()
    assert read_xlsx(tmp_path / "ai-hub.xlsx", 300, report) == korean
    assert report.skipped["empty"] == 1

    sheet["B1"] = "source"
    book.save(tmp_path / "wrong.xlsx")
    with pytest.raises(ValueError, match="원문 and 번역문"):
        read_corpus(str(tmp_path / "wrong.xlsx"), "ko", "en", 300, ReadReport())


def test_missing_corpus_names_the_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope.txt"):
        read_corpus(str(tmp_path / "nope.txt"), "fr", "en", 300, ReadReport())


def test_split_keeps_each_english_sentence_on_one_side_holds_out_one_pair_each_and_is_seeded():
    pairs = read_tatoeba(FRA, "fr", 300, ReadReport())[:20000]
    split = split_by_english(pairs, english_side=1, valid_size=500, test_size=1000, seed=7)
    assert len(split.test) == 1000 and len(split.valid) == 500

    def english(part):
        return {t.casefold().rstrip(".!?") for _, t in part}

    # One pair per English sentence held out; every pair of the other sentences trains.
    assert len(english(split.test)) == 1000 and len(english(split.valid)) == 500
    trained = english(split.train)
    assert len(split.train) == sum(1 for pair in pairs if english([pair]) <= trained)

    assert not english(split.train) & english(split.test)
    assert not english(split.train) & english(split.valid)
    assert not english(split.valid) & english(split.test)
    again = split_by_english(pairs, english_side=1, valid_size=500, test_size=1000, seed=7)
    assert again.test == split.test
    assert split_by_english(pairs, english_side=1, valid_size=500, test_size=1000, seed=8).test != split.test


def test_read_tsv_counts_lines_with_too_few_columns(tmp_path):
    path = tmp_path / "t.tsv"
    path.write_text("a\tb\nc\n", encoding="utf-8")
    report = ReadReport()
    assert read_tsv(path, 0, 1, 300, report) == [("a", "b")]
    assert report.skipped["malformed"] == 1
