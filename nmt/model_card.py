"""The model card of a checkpoint folder (its README.md, with Hugging Face Hub metadata) and its upload."""

from __future__ import annotations

from pathlib import Path

from nmt.config import Config, corpus_specs
from nmt.metrics import LONG_SENTENCE_WORDS

# The held-out scores of metrics.json's "test" that the Hub's model index lists: (key, name).
INDEXED_SCORES = ("bleu", "BLEU"), ("chrf", "chrF")


def hub_metadata(config: Config, metrics: dict) -> str:
    """The card's front matter for the Hugging Face Hub: languages, licence, task, data and the
    held-out scores (beam search, and greedy BLEU), as a YAML block between ``---`` lines."""
    from huggingface_hub import EvalResult, ModelCardData

    # The test split comes from `data` alone (train_data corpora only add to training).
    test, corpora = metrics["test"], corpus_specs(config.data)
    dataset = f"held-out test split of {', '.join(Path(c.split(':')[0]).name for c in corpora)}"
    # manythings.org's Tatoeba archives unpack as fra-eng/fra.txt, kor-eng/kor.txt, ...
    tatoeba = any(Path(c.split(":")[0]).parent.name.split("-")[1:2] == ["eng"] for c in corpora)

    def result(value, metric: str, name: str) -> EvalResult:
        return EvalResult(
            task_type="translation",
            dataset_type="tatoeba" if tatoeba else "parallel-corpus",
            dataset_name=dataset,
            dataset_split="test",
            metric_type=metric,
            metric_value=value,
            metric_name=name,
        )

    beam = f"beam {config.beam_size}"
    results = [result(test[key], key, f"{name} ({beam})") for key, name in INDEXED_SCORES]
    results.append(result(test["greedy"]["bleu"], "bleu", "BLEU (greedy)"))
    data = ModelCardData(
        language=[config.source_lang, config.target_lang],
        license="mit",
        library_name="keras",
        pipeline_tag="translation",
        tags=["translation", "lstm", "attention", "luong-attention", "seq2seq"],
        datasets=["tatoeba"] if tatoeba else None,
        model_name=f"{config.pair} LSTM + Luong attention",
        eval_results=results,
    )
    return f"---\n{data.to_yaml()}\n---\n"


def model_card(config: Config, metrics: dict) -> str:
    """The checkpoint's README.md: Hub metadata, scores, data, how it was trained, the model."""
    test, training, split = metrics["test"], metrics["training"], metrics["data"]["split"]
    feeding = "on" if config.input_feeding else "off"
    return (
        hub_metadata(config, metrics)
        + f"""
# {config.pair} LSTM + Luong attention

Translates {config.source_lang} → {config.target_lang}. Trained with `{training["command"] or "nmt.training.train"}`.

| | |
|---|---|
| test BLEU (beam {config.beam_size}) | {test["bleu"]} |
| test chrF (beam {config.beam_size}) | {test["chrf"]} |
| test BLEU (greedy) | {test["greedy"]["bleu"]} |
| test BLEU (beam {config.beam_size}), references of {LONG_SENTENCE_WORDS}+ words | {test.get("long_bleu", "–")} |
| test sentences (of {LONG_SENTENCE_WORDS}+ words) | {test["sentences"]} ({test.get("long_sentences", "–")}) |
| data | {", ".join(metrics["data"]["corpora"])} |
| split (train / valid / test) | {split["train"]} / {split["valid"]} / {split["test"]} |
| epochs (best) | {training["epochs"]} ({training["best_epoch"]}) |
| wall time | {training["wall_seconds"] / 60:.1f} min on {training["hardware"]} |
| parameters | {training["parameters"]:,} |
| initialised from | {training["init_from"] or "nothing (trained from scratch)"} |

Model: {config.layers}-layer {"bidirectional " if config.bidirectional else ""}LSTM encoder, {config.layers}-layer LSTM
decoder, {config.units} units, `{config.score}` attention score, input feeding {feeding},
dropout {config.dropout}, label smoothing {config.label_smoothing}, guided alignment weight
{config.guided_alignment}. Weights are stored in float16.

Scores: sacrebleu `{test["bleu_signature"]}` / `{test["chrf_signature"]}`.
The test split shares no English sentence with training. The sources and licences of the corpora listed
under "data" are in the project README's Data section.
"""
    )


def push_to_hub(directory: Path, repo_id: str) -> str:
    """Uploads a checkpoint folder, its card included, to the model repository `repo_id`; returns its URL."""
    from huggingface_hub import HfApi

    api = HfApi()
    url = api.create_repo(repo_id, exist_ok=True)
    api.upload_folder(folder_path=str(directory), repo_id=repo_id)
    return str(url)
