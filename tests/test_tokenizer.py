from conftest import FRA, KOR
from nmt.data import ReadReport, read_tatoeba
from nmt.tokenizer import BOS_ID, EOS_ID, PAD_ID, UNK_ID, Tokenizer


def _sentences(path, lang, count=3000):
    return [s for s, _ in list(read_tatoeba(path, lang, 300, ReadReport()))[:count]]


def test_french_round_trip_and_special_ids():
    sentences = _sentences(FRA, "fr")
    tokenizer = Tokenizer.train(sentences, 400)
    assert (tokenizer.pieces([PAD_ID, UNK_ID, BOS_ID, EOS_ID])) == ["<pad>", "<unk>", "<s>", "</s>"]
    for sentence in ("Je suis là.", sentences[1000], sentences[-1]):
        ids = tokenizer.encode(sentence)
        assert min(ids) > EOS_ID
        assert tokenizer.decode(ids) == sentence
    assert tokenizer.decode([BOS_ID] + tokenizer.encode("Merci.") + [EOS_ID, PAD_ID]) == "Merci."


def test_korean_round_trip_and_serialization(tmp_path):
    sentences = _sentences(KOR, "ko")
    tokenizer = Tokenizer.train(sentences, 1200)
    sentence = "톰은 정말 친절해."
    assert tokenizer.decode(tokenizer.encode(sentence)) == sentence
    tokenizer.save(tmp_path / "ko.spm")
    loaded = Tokenizer.load(tmp_path / "ko.spm")
    assert loaded.encode(sentence) == tokenizer.encode(sentence)
    assert loaded.vocab_size == tokenizer.vocab_size


def test_input_is_normalised_like_training_data():
    tokenizer = Tokenizer.train(_sentences(FRA, "fr"), 400)
    assert tokenizer.encode("Ｊe\u200b  suis\x00 là.") == tokenizer.encode("Je suis là.")


def test_characters_without_a_piece_round_trip_as_bytes():
    # Tatoeba's English has too few digits, "$" or "Q" for them to earn pieces of their own.
    tokenizer = Tokenizer.train([s for _, s in list(read_tatoeba(FRA, "fr", 300, ReadReport()))[:3000]], 600)
    sentence = 'Queen "Zoë" paid $25 in 1999.'
    ids = tokenizer.encode(sentence)
    assert UNK_ID not in ids
    assert "<0x24>" in tokenizer.pieces(ids)  # "$" spelled as its byte
    assert tokenizer.decode(ids) == sentence
