"""Text in, translations with their attention out: tokenizers + model + search behind one object."""

from __future__ import annotations

import dataclasses
import os

import keras
import numpy as np

from nmt.checkpoint import Checkpoint, load_checkpoint
from nmt.search import Hypothesis, Searcher
from nmt.tokenizer import EOS_ID


def use_decoding_settings() -> None:
    """TensorFlow's settings for a process that decodes: one thread per operation, with independent
    operations (the encoder's two directions, concurrent requests) side by side on the cores; and
    no Grappler graph optimisation of the compiled searches.

    Decoding runs many small operations in sequence, where splitting each across cores costs more
    than it gains (bench/decode.py: greedy 9.0 ms instead of 10.3 ms on 2 cores). Grappler's passes
    took 0.2 s of the first beam search's 0.8 s, and the searches run as fast without them
    (bench/README.md). Must run before TensorFlow executes anything; training keeps TensorFlow's
    defaults.
    """
    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        tf.config.optimizer.set_experimental_options({"disable_meta_optimizer": True})
        try:
            tf.config.threading.set_intra_op_parallelism_threads(1)
            tf.config.threading.set_inter_op_parallelism_threads(os.cpu_count() or 1)
        except RuntimeError:  # TensorFlow already ran in this process (a test, a notebook): keep its threads
            pass


@dataclasses.dataclass
class Translation:
    source: str
    source_pieces: list[str]  # the encoder's input, "</s>" last
    hypotheses: list[Hypothesis]  # n-best, best first

    @property
    def best(self) -> Hypothesis:
        return self.hypotheses[0]


class Translator:
    def __init__(self, checkpoint: Checkpoint):
        self.checkpoint = checkpoint
        self.config = checkpoint.config
        self.source_tokenizer = checkpoint.source_tokenizer
        self.target_tokenizer = checkpoint.target_tokenizer
        self.searcher = Searcher(checkpoint.model)

    @classmethod
    def load(cls, directory) -> Translator:
        return cls(load_checkpoint(directory))

    @property
    def max_source_pieces(self) -> int:
        """The longest input read: twice the longest training pair, which attention still spans."""
        return self.config.max_pieces * 2

    def source_ids(self, text: str) -> list[int]:
        """The encoder input: the normalised text's pieces, cut to :attr:`max_source_pieces`, then eos."""
        return self.source_tokenizer.encode(text)[: self.max_source_pieces] + [EOS_ID]

    def text(self, hypothesis: Hypothesis) -> str:
        return self.target_tokenizer.decode(hypothesis.token_ids)

    def target_pieces(self, hypothesis: Hypothesis) -> list[str]:
        return self.target_tokenizer.pieces(hypothesis.token_ids)

    def translate(
        self, texts, beam_size: int | None = None, n_best: int = 1, max_length: int | None = None, batch_size: int = 64
    ) -> list[Translation]:
        """Translates `texts` (one sentence each) in length-sorted batches; results keep the input order."""
        beam_size = beam_size or self.config.beam_size
        max_length = max_length or self.config.max_output_pieces
        sources = [self.source_ids(text) for text in texts]
        order = np.argsort([len(s) for s in sources], kind="stable")
        results: list[Translation | None] = [None] * len(texts)
        for start in range(0, len(order), batch_size):
            indices = order[start : start + batch_size]
            nbests = self.searcher.search(
                [sources[i] for i in indices], beam_size, n_best, self.config.length_penalty, max_length
            )
            for i, hypotheses in zip(indices, nbests):
                pieces = self.source_tokenizer.pieces(sources[i])
                results[i] = Translation(texts[i], pieces, hypotheses)
        return results

    def translate_texts(self, texts, beam_size: int | None = None) -> list[str]:
        return [self.text(t.best) for t in self.translate(texts, beam_size)]
