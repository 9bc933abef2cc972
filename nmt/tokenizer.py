"""SentencePiece subword tokenizers, one per side, stored as serialized model bytes in the checkpoint."""

from __future__ import annotations

import io

import sentencepiece as spm

from nmt.data import normalize

PAD_ID, UNK_ID, BOS_ID, EOS_ID = 0, 1, 2, 3


class Tokenizer:
    """Text ⇄ piece ids for one language, with the project's fixed special ids (pad 0, unk 1, bos 2, eos 3)."""

    def __init__(self, model_proto: bytes):
        self.model_proto = model_proto
        self._sp = spm.SentencePieceProcessor(model_proto=model_proto)
        specials = (self._sp.pad_id(), self._sp.unk_id(), self._sp.bos_id(), self._sp.eos_id())
        if specials != (PAD_ID, UNK_ID, BOS_ID, EOS_ID):
            raise ValueError(f"SentencePiece model has special ids {specials}, expected (0, 1, 2, 3)")

    @classmethod
    def train(cls, sentences, vocab_size: int) -> Tokenizer:
        """Trains a unigram SentencePiece model on already-normalised sentences."""
        model = io.BytesIO()
        try:
            spm.SentencePieceTrainer.train(
                sentence_iterator=iter(sentences),
                model_writer=model,
                vocab_size=vocab_size,
                model_type="unigram",
                # Rare characters (a few Hangul syllables, digits, capitals such as Q) get no piece of their
                # own; byte fallback spells them as UTF-8 byte pieces instead of <unk>, so no input
                # character is lost and every output character can be produced.
                character_coverage=0.9995,
                byte_fallback=True,
                # Text is normalised by nmt.data.normalize before it reaches SentencePiece; a second,
                # different normalisation inside the model would make pieces disagree with the text shown.
                normalization_rule_name="identity",
                pad_id=PAD_ID,
                unk_id=UNK_ID,
                bos_id=BOS_ID,
                eos_id=EOS_ID,
                hard_vocab_limit=False,
                minloglevel=2,
            )
        except RuntimeError as error:
            # SentencePiece reports, e.g., a vocabulary smaller than the characters it must cover.
            raise ValueError(f"SentencePiece could not train a {vocab_size}-piece vocabulary: {error}") from None
        return cls(model.getvalue())

    @classmethod
    def load(cls, path) -> Tokenizer:
        with open(path, "rb") as f:
            return cls(f.read())

    def save(self, path) -> None:
        with open(path, "wb") as f:
            f.write(self.model_proto)

    @property
    def vocab_size(self) -> int:
        return self._sp.get_piece_size()

    def encode(self, text: str) -> list[int]:
        """Piece ids of the normalised text, without bos/eos."""
        return self._sp.encode(normalize(text))

    def encode_with_offsets(self, normalised_text: str) -> tuple[list[int], list[tuple[int, int]]]:
        """Piece ids of already-normalised text and each piece's span in it, as UTF-8 byte offsets
        (begin, end); a byte-fallback character's first byte pieces have empty spans at its start."""
        pieces = self._sp.encode(normalised_text, out_type="proto").pieces
        return [p.id for p in pieces], [(p.begin, p.end) for p in pieces]

    def decode(self, ids) -> str:
        return self._sp.decode([int(i) for i in ids if int(i) > EOS_ID])

    def pieces(self, ids) -> list[str]:
        return [self._sp.id_to_piece(int(i)) for i in ids]

    def decode_pieces(self, pieces) -> str:
        """The text of pieces (as :meth:`pieces` gives them), special pieces left out."""
        return self.decode([self._sp.piece_to_id(p) for p in pieces])
