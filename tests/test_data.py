import pytest

from conftest import FRA, KOR, NEWS
from nmt.data import (
    PairStream,
    ReadReport,
    english_group,
    held_out_of_stream,
    normalize,
    read_corpus,
    read_parallel_files,
    read_tatoeba,
    read_tsv,
    read_xlsx,
    split_by_english,
    uniform_sample,
)


def test_normalize_folds_compatibility_forms_and_drops_invisible_characters():
    assert normalize("  Ｊｅ\u200b suis\u202e\x00 là\t\n ") == "Je suis là"
    assert normalize("ﬁn") == "fin"
    assert normalize(normalize("café  au lait")) == "café au lait"


def test_tatoeba_reads_french_as_source_for_fr_en():
    report = ReadReport()
    pairs = list(read_tatoeba(FRA, "fr", 300, report))
    assert len(pairs) == report.kept == 72475
    assert pairs[0] == ("Va !", "Go.")


def test_tatoeba_reads_english_as_source_for_en_ko_and_ignores_attribution():
    pairs = list(read_tatoeba(KOR, "en", 300, ReadReport()))
    assert pairs[0] == ("Go.", "가.")
    assert list(read_tatoeba(KOR, "ko", 300, ReadReport()))[1] == ("안녕.", "Hi.")


def test_malformed_empty_and_overlong_lines_are_counted_not_fatal(tmp_path):
    path = tmp_path / "bad.txt"
    path.write_text(
        "Hello.\tBonjour.\nno tab here\n\tonly target\nGood.\t\x00\u200b\n" + "x" * 400 + "\ty\n", encoding="utf-8"
    )
    report = ReadReport()
    assert list(read_tatoeba(path, "fr", 300, report)) == [("Bonjour.", "Hello.")]
    assert report.kept == 1 and dict(report.skipped) == {"malformed": 1, "empty": 2, "over-long": 1}
    assert "kept 1 pairs" in str(report) and "1 malformed" in str(report)


def test_tsv_with_chosen_columns(tmp_path):
    path = tmp_path / "x.tsv"
    path.write_text("1\tun chat\ta cat\n2\tun chien\n", encoding="utf-8")
    report = ReadReport()
    assert list(read_corpus(f"{path}:1:2", "fr", "en", 300, report)) == [("un chat", "a cat")]
    assert report.skipped["malformed"] == 1
    with pytest.raises(ValueError, match="FILE:SOURCE_COLUMN:TARGET_COLUMN"):
        list(read_corpus(f"{path}:1", "fr", "en", 300, ReadReport()))


def test_line_aligned_files_from_the_news_corpus():
    report = ReadReport()
    pairs = list(read_corpus(str(NEWS), "ko", "en", 1000, report))
    assert report.kept + sum(report.skipped.values()) == 1000
    assert pairs[0][0].startswith("세계 에서 가장 강력한") and pairs[0][1].startswith("After keeping the world's")


def test_line_aligned_files_of_different_length_are_refused(tmp_path):
    (tmp_path / "a.ko").write_text("하나\n둘\n", encoding="utf-8")
    (tmp_path / "a.en").write_text("one\n", encoding="utf-8")
    with pytest.raises(ValueError, match="same number of lines"):
        list(read_parallel_files(tmp_path / "a.ko", tmp_path / "a.en", 300, ReadReport()))


def test_ai_hub_spreadsheet(tmp_path):
    import openpyxl

    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["ID", "원문", "번역문"])
    korean = list(read_tatoeba(KOR, "ko", 300, ReadReport()))[100:103]
    for i, (ko, en) in enumerate(korean):
        sheet.append([i, ko, en])
    sheet.append([9, None, "orphan"])
    book.save(tmp_path / "ai-hub.xlsx")
    report = ReadReport()
    assert list(read_xlsx(tmp_path / "ai-hub.xlsx", 300, report)) == korean
    assert report.skipped["empty"] == 1

    sheet["B1"] = "source"
    book.save(tmp_path / "wrong.xlsx")
    with pytest.raises(ValueError, match="원문 and 번역문"):
        list(read_corpus(str(tmp_path / "wrong.xlsx"), "ko", "en", 300, ReadReport()))


def test_missing_corpus_names_the_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope.txt"):
        list(read_corpus(str(tmp_path / "nope.txt"), "fr", "en", 300, ReadReport()))


def test_split_keeps_each_english_sentence_on_one_side_holds_out_one_pair_each_and_is_seeded():
    pairs = list(read_tatoeba(FRA, "fr", 300, ReadReport()))[:20000]
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
    assert list(read_tsv(path, 0, 1, 300, report)) == [("a", "b")]
    assert report.skipped["malformed"] == 1


def test_a_streamed_split_holds_out_one_pair_per_english_sentence_drawn_across_the_whole_corpus():
    pairs = list(read_tatoeba(FRA, "fr", 300, ReadReport()))[::3]  # fra.txt is sorted by length
    valid, test = held_out_of_stream(iter(pairs), english_side=1, valid_size=300, test_size=500, seed=7)
    assert len(test) == 500 and len(valid) == 300
    held = [english_group(pair, 1) for pair in valid + test]
    assert len(set(held)) == 800 and all(pair in pairs for pair in valid + test)
    # A uniform sample of the English sentences: as many from the second half of the file as the first.
    position = {english_group(pair, 1): i for i, pair in enumerate(pairs)}
    assert 0.4 < sum(position[g] > len(pairs) / 2 for g in held) / 800 < 0.6
    # The order of reading does not change it; the seed does.
    assert held_out_of_stream(reversed(pairs), 1, 300, 500, seed=7) == (valid, test)
    assert held_out_of_stream(iter(pairs), 1, 300, 500, seed=8)[1] != test


def test_a_pair_stream_leaves_out_held_out_sentences_and_serves_chunks_pass_after_pass(tmp_path):
    path = tmp_path / "corpus.txt"
    path.write_text("".join(f"Sentence {i}.\tPhrase {i}.\n" for i in range(10)) + "no tab\n", encoding="utf-8")
    stream = PairStream([str(path)], ("fr", "en"), 300, english_side=1, held_out={"sentence 3"})
    assert [t for _, t in stream] == [f"Sentence {i}." for i in range(10) if i != 3]
    assert stream.pairs_per_pass == 9 and stream.dropped == 1 and stream.reports[str(path)].skipped["malformed"] == 1
    # Chunks of 4 run on into the next pass: chunk 2 is the last pair of a pass and the first three of the next.
    chunks = stream.chunks(2, 4)
    assert [t for _, t in next(chunks)] == ["Sentence 9.", "Sentence 0.", "Sentence 1.", "Sentence 2."]
    assert [t for _, t in next(chunks)] == ["Sentence 4.", "Sentence 5.", "Sentence 6.", "Sentence 7."]
    assert next(stream.chunks(0, 4)) == list(stream)[:4]
    path.write_text("", encoding="utf-8")
    with pytest.raises(ValueError, match="hold no pairs any more"):
        next(stream.chunks(0, 4))


def test_a_uniform_sample_keeps_everything_in_order_when_it_can_and_draws_evenly_when_not():
    assert uniform_sample(iter(range(5)), 10, seed=0) == ([0, 1, 2, 3, 4], 5)
    sample, count = uniform_sample(iter(range(100_000)), 1000, seed=0)
    assert count == 100_000 and len(set(sample)) == 1000
    assert 0.45 < sum(item >= 50_000 for item in sample) / 1000 < 0.55
    assert uniform_sample(iter(range(100_000)), 1000, seed=0)[0] == sample
