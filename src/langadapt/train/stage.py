"""Stage functions for the pipeline and plain library calls behind `langadapt pretrain` / `langadapt sft`.

    from langadapt.train.stage import pretrain, sft
    result = pretrain(cfg, model="smollm2-135m-instruct", corpus="runs/x/clean/corpus", out_dir="out/pt")
    result = sft(cfg, model="out/pt/model", out_dir="out/sft")
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

from langadapt.config.corpus import CorpusSpec
from langadapt.errors import UserError
from langadapt.results import TrainMetrics
from langadapt.stages import StageContext, StageResult
from langadapt.train import data_cpt, data_sft, methods
from langadapt.train.sft_store import sft_sequences
from langadapt.train.shards import token_store
from langadapt.train.trainer import Data, TrainResult, train


def _hyperparameters(cfg) -> dict:
    keys = ("method", "learning_rate", "min_learning_rate", "lr_scheduler", "warmup_steps", "warmup_ratio", "epochs",
            "max_steps", "max_minutes", "per_device_batch_size", "gradient_accumulation_steps", "max_seq_length",
            "packing", "weight_decay", "max_grad_norm", "precision", "gradient_checkpointing", "seed")
    hp = {k: getattr(cfg, k) for k in keys}
    for section in methods.get(cfg.method).config_sections:
        hp[section] = getattr(cfg, section).model_dump()
    if cfg.long_context.s2_attn or cfg.long_context.rope_scaling:
        hp["long_context"] = cfg.long_context.model_dump()
    return hp


def cpt_data(cfg, corpus: str | Path, specs: Sequence[CorpusSpec] = ()):
    """build_data callback for continual pretraining: the corpus is tokenized once into a cached token store."""
    def build(tokenizer) -> Data:
        from accelerate import PartialState  # accelerate loads torch.distributed: only when a stage runs

        # One process tokenizes; under `accelerate launch` the others wait, then open the same store.
        with PartialState().main_process_first():
            store = token_store(tokenizer, corpus)
        weights = {s.name: s.weight for s in specs}
        replay = {s.name for s in specs if s.role == "replay"}
        train_seqs, val_seqs, info = data_cpt.cpt_sequences(store, cfg.max_seq_length, cfg.packing, cfg.validation_fraction,
                                                            cfg.seed, cfg.corpora, weights, replay, cfg.replay_share)
        return Data(train_seqs, val_seqs, cfg.packing, info)
    return build


def sft_data(cfg, heldout: str | None = None, base_dir: Path | None = None):
    def build(tokenizer) -> Data:
        if not cfg.datasets:
            raise UserError("sft: no datasets (set sft.datasets: [{path: data.jsonl}] or pass --data FILE)")
        template = data_sft.resolve_template(tokenizer, cfg.chat_template)
        # The model learns this template (maybe the chatml fallback), so it is the one to serve it with:
        # set on the tokenizer that is saved with the adapter, the merged model and any export.
        tokenizer.chat_template = template
        # Encoded once into a cached store (the main process first; the others then open it).
        train_seqs, val_seqs, info = sft_sequences(cfg, tokenizer, template, heldout, base_dir)
        return Data(train_seqs, val_seqs, cfg.packing, info)
    return build


def _metrics(result: TrainResult, cfg) -> dict:
    return {**result.metrics, "hyperparameters": _hyperparameters(cfg)}


def pretrain(cfg, model: str, corpus: str | Path, out_dir: str | Path, specs: Sequence[CorpusSpec] = ()) -> TrainResult:
    result = train(cfg, model, Path(out_dir), cpt_data(cfg, corpus, specs), stage="pretrain")
    result.metrics = _metrics(result, cfg)
    return result


def sft(cfg, model: str, out_dir: str | Path, heldout: str | None = None, base_dir: Path | None = None) -> TrainResult:
    result = train(cfg, model, Path(out_dir), sft_data(cfg, heldout, base_dir), stage="sft")
    result.metrics = _metrics(result, cfg)
    return result


def run_pretrain(ctx: StageContext) -> StageResult:
    corpus = ctx.artifact("clean.corpus")
    if not corpus:
        raise UserError("pretrain needs the clean stage's corpus (clean.corpus); run `langadapt clean` first")
    r = pretrain(ctx.recipe.pretrain, ctx.latest_model(before="pretrain"), corpus, ctx.out_dir, ctx.recipe.corpora)
    return StageResult(outputs=r.outputs, metrics=TrainMetrics.from_stage(r.metrics))


def run_sft(ctx: StageContext) -> StageResult:
    r = sft(ctx.recipe.sft, ctx.latest_model(before="sft"), ctx.out_dir, ctx.artifact("clean.heldout"), ctx.recipe.base_dir)
    return StageResult(outputs=r.outputs, metrics=TrainMetrics.from_stage(r.metrics))
