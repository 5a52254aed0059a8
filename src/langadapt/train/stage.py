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
from langadapt.stages import StageContext, StageResult
from langadapt.train import data_cpt, data_sft
from langadapt.train.trainer import Data, TrainResult, train


def _hyperparameters(cfg) -> dict:
    keys = ("method", "learning_rate", "min_learning_rate", "lr_scheduler", "warmup_steps", "warmup_ratio", "epochs",
            "max_steps", "max_minutes", "per_device_batch_size", "gradient_accumulation_steps", "max_seq_length",
            "packing", "weight_decay", "max_grad_norm", "precision", "gradient_checkpointing", "seed")
    hp = {k: getattr(cfg, k) for k in keys}
    if cfg.method in ("lora", "qlora"):
        hp["lora"] = cfg.lora.model_dump()
    if cfg.method == "qlora":
        hp["quant"] = cfg.quant.model_dump()
    if cfg.long_context.s2_attn or cfg.long_context.rope_scaling:
        hp["long_context"] = cfg.long_context.model_dump()
    return hp


def cpt_data(cfg, corpus: str | Path, specs: Sequence[CorpusSpec] = ()):
    """build_data callback for continual pretraining: the corpus is tokenized once into a cached token store."""
    def build(tokenizer) -> Data:
        from accelerate import PartialState

        from langadapt.train.shards import token_store

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
        import random

        if not cfg.datasets:
            raise UserError("sft: no datasets (set sft.datasets: [{path: data.jsonl}] or pass --data FILE)")
        template = data_sft.resolve_template(tokenizer, cfg.chat_template)
        # The model learns this template (maybe the chatml fallback), so it is the one to serve it with:
        # set on the tokenizer that is saved with the adapter, the merged model and any export.
        tokenizer.chat_template = template
        convs: list[list[dict]] = []
        for spec in cfg.datasets:
            if spec.builtin:
                part = data_sft.builtin_conversations(spec.builtin, heldout, cfg.seed, spec.max_examples)
            elif spec.path:
                path = Path(spec.path)
                if not path.is_absolute() and base_dir is not None:
                    path = base_dir / path
                part = data_sft.load_conversations(path, spec.format, cfg.system_prompt, spec.max_examples)
            elif spec.hf_dataset:
                part = data_sft.load_hf_conversations(spec, cfg.system_prompt, base_dir)
            else:
                raise UserError("sft.datasets entry needs `path`, `hf_dataset` or `builtin`")
            if cfg.system_prompt:
                part = [c if any(m["role"] == "system" for m in c) else
                        [{"role": "system", "content": cfg.system_prompt}] + c for c in part]
            rng = random.Random(cfg.seed)
            convs += data_cpt._sample(part, spec.weight, rng) if spec.weight != 1.0 else part
        examples = [e for c in convs if (e := data_sft.encode(tokenizer, c, template, cfg.max_seq_length))]
        if not examples:
            raise UserError("sft: no example has assistant tokens within max_seq_length")
        order = list(range(len(examples)))
        random.Random(cfg.seed).shuffle(order)
        n_val = 0 if cfg.validation_fraction <= 0 or len(examples) < 2 else max(1, round(cfg.validation_fraction * len(examples)))
        val = [examples[i] for i in order[:n_val]]
        train_ex = [examples[i] for i in order[n_val:]]
        train_seqs = data_sft.pack_examples(train_ex, cfg.max_seq_length) if cfg.packing else train_ex
        val_seqs = data_sft.pack_examples(val, cfg.max_seq_length) if cfg.packing else val
        info = {"conversations": len(convs), "train_examples": len(train_ex), "validation_examples": len(val),
                "train_sequences": len(train_seqs), "assistant_tokens": sum(sum(1 for x in e["labels"] if x != -100) for e in train_ex)}
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
    return StageResult(outputs=r.outputs, metrics=r.metrics)


def run_sft(ctx: StageContext) -> StageResult:
    r = sft(ctx.recipe.sft, ctx.latest_model(before="sft"), ctx.out_dir, ctx.artifact("clean.heldout"), ctx.recipe.base_dir)
    return StageResult(outputs=r.outputs, metrics=r.metrics)
