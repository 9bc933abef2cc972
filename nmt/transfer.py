"""Transfer learning: a child model starts its target side from a parent checkpoint that translates
into the same language."""

from __future__ import annotations

from pathlib import Path

from nmt import checkpoint as ckpt
from nmt.config import Config
from nmt.tokenizer import Tokenizer

# Layers whose role is the same in any model translating into the same language: the English side.
TARGET_SIDE_LAYERS = ("target_embedding", "attention", "attentional_layer", "output_projection")


def transfer_from(parent_dir, model, target_tokenizer: Tokenizer, config: Config) -> list[str]:
    """Initialises the target-side layers (embeddings, decoder LSTMs, attention, attentional layer,
    output projection) from a parent checkpoint that translates into the same language with the same
    target vocabulary. The source side (embeddings, encoder) stays new: it reads another language.
    Returns the names of the layers copied."""
    parent = ckpt.load_checkpoint(parent_dir)
    if parent.config.target_lang != config.target_lang:
        raise ValueError(
            f"{parent_dir} translates into {parent.config.target_lang!r}, this model into {config.target_lang!r}: "
            "only the target side transfers, so both must translate into the same language"
        )
    if parent.target_tokenizer.model_proto != target_tokenizer.model_proto:
        raise ValueError(f"{parent_dir}: its target SentencePiece model differs from this model's")
    names = set(TARGET_SIDE_LAYERS) | {layer.name for layer in model.decoder_layers}
    parent_path = Path(parent_dir) / ckpt.WEIGHTS
    return ckpt.read_weights(model, parent_path, only=names)
