"""Loading a model for training: resolve it, pick precision and attention, let the method set what trains.

    loaded = prepare(model_ref, cfg)      # cfg: TrainConfig; returns model, tokenizer, extension, param groups

The method (`langadapt.train.methods`, chosen by `cfg.method`) decides the dtype or quantisation of
the base and what trains; this module does what every method shares: long-context settings,
the attention kernel, the tokenizer's pad token, the size check against the extended vocabulary,
and the optimiser's parameter groups.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass, field
from typing import Any

import torch

from langadapt.errors import UserError
from langadapt.memguard import check_load_fits
from langadapt.models import load_tokenizer, resolve_model
from langadapt.models.extension import read_extension
from langadapt.train import methods
from langadapt.train.methods import TrainingMethod
from langadapt.train.s2attn import register as register_s2attn


@dataclass
class Loaded:
    model: Any
    tokenizer: Any
    base_ref: str
    extension: dict | None
    new_token_ids: list[int]
    param_groups: list[dict]
    method: TrainingMethod
    precision: str
    notes: list[str] = field(default_factory=list)


def cpu_has_native_bf16() -> bool:
    """AVX512-BF16 or AMX: bf16 matmuls run natively (about 1.5x fp32 for SmolLM2 training on 2 cores)."""
    try:
        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):
        return False


def resolve_precision(requested: str) -> str:
    """`auto`: bf16 (fp16 on GPUs without it) where the hardware computes it natively, else fp32.

    On CPU, bf16 means autocast over fp32 weights: master weights, and the frozen base of LoRA,
    stay fp32 so saved models are not rounded."""
    if requested != "auto":
        if requested == "fp16" and not torch.cuda.is_available():
            raise UserError("precision fp16 needs a GPU; use precision=bf16, fp32 or auto on CPU")
        return requested
    if torch.cuda.is_available():
        return "bf16" if torch.cuda.is_bf16_supported() else "fp16"
    return "bf16" if cpu_has_native_bf16() else "fp32"


def check_method(cfg) -> TrainingMethod:
    """Fail before any loading when the method or the attention kernel cannot run on this machine."""
    method = methods.get(cfg.method)
    method.check(cfg)
    if cfg.attn_implementation == "flash_attention_2" and not torch.cuda.is_available():
        raise UserError("attn_implementation flash_attention_2 needs a CUDA GPU; use sdpa")
    return method


def _attn_impl(cfg) -> str:
    if cfg.long_context.s2_attn:
        return register_s2attn(cfg.long_context.group_size_ratio)
    if cfg.attn_implementation != "auto":
        return cfg.attn_implementation
    if torch.cuda.is_available() and importlib.util.find_spec("flash_attn") is not None:
        return "flash_attention_2"
    return "sdpa"


def _model_config(path: str, cfg):
    from transformers import AutoConfig  # transformers loads in seconds: only when a model is loaded

    config = AutoConfig.from_pretrained(path)
    scaling = cfg.long_context.rope_scaling
    if scaling:
        scaling = dict(scaling)
        if "type" in scaling and "rope_type" not in scaling:
            scaling["rope_type"] = scaling.pop("type")
        params = dict(getattr(config, "rope_parameters", None) or {})
        params.update(scaling)
        config.rope_parameters = params
        factor = float(scaling.get("factor", 1.0))
        if factor > 1 and getattr(config, "max_position_embeddings", None):
            config.max_position_embeddings = int(config.max_position_embeddings * factor)
    return config


def prepare(model_ref: str, cfg) -> Loaded:
    from transformers import AutoModelForCausalLM  # transformers loads in seconds: only when a model is loaded

    method = check_method(cfg)
    resolved = resolve_model(model_ref)
    if resolved.kind == "adapter":
        raise UserError(f"{model_ref}: training starts from a full model folder, not an adapter; merge it first")
    path = resolved.path
    extension = read_extension(path) if resolved.kind == "local" else None
    new_ids = list(range(*extension["new_token_ids"])) if extension else []
    precision = resolve_precision(cfg.precision)
    tokenizer = load_tokenizer(resolved)
    if tokenizer.pad_token_id is None:
        tokenizer.pad_token = tokenizer.eos_token
    if not torch.cuda.is_available():
        # fp32 on CPU; every weight that trains adds its gradient and two AdamW moments. A lower bound: it only
        # stops a run the kernel would otherwise kill without a message, partway into loading.
        check_load_fits(path, f"training {model_ref} with method {method.name} on CPU",
                        16 if method.trains_base_weights else 4,
                        hint="method=lora trains adapters over frozen weights" if method.trains_base_weights else "")
    model = AutoModelForCausalLM.from_pretrained(path, config=_model_config(path, cfg), attn_implementation=_attn_impl(cfg),
                                                 **method.load_kwargs(cfg, precision))
    model.config.use_cache = False
    if len(tokenizer) > model.get_input_embeddings().weight.shape[0]:
        raise UserError(f"{model_ref}: tokenizer has {len(tokenizer)} tokens but the model only "
                        f"{model.get_input_embeddings().weight.shape[0]} rows; run the tokenizer stage's resize")

    notes: list[str] = []
    tied = bool(getattr(model.config, "tie_word_embeddings", False))
    model = method.prepare(model, cfg, new_ids, tied, notes)
    groups = param_groups(model, cfg)
    return Loaded(model, tokenizer, str(model_ref), extension, new_ids, groups, method, precision, notes)


def param_groups(model, cfg) -> list[dict]:
    """Optimiser groups: new-token rows get their own learning rate; no weight decay on norms and biases."""
    emb_lr = cfg.lora.embedding_learning_rate or cfg.learning_rate
    main_decay, main_plain, tokens = [], [], []
    for name, p in model.named_parameters():
        if not p.requires_grad:
            continue
        if "trainable_tokens" in name:
            tokens.append(p)
        elif p.ndim < 2 or "norm" in name or name.endswith(".bias"):
            main_plain.append(p)
        else:
            main_decay.append(p)
    groups = []
    if main_decay:
        groups.append({"params": main_decay, "weight_decay": cfg.weight_decay, "lr": cfg.learning_rate, "name": "weights"})
    if main_plain:
        groups.append({"params": main_plain, "weight_decay": 0.0, "lr": cfg.learning_rate, "name": "norms"})
    if tokens:
        groups.append({"params": tokens, "weight_decay": 0.0, "lr": emb_lr, "name": "new_tokens"})
    if not groups:
        raise UserError("nothing to train: no parameter requires a gradient")
    for g in groups:
        g["peak_lr"] = g["lr"]
    return groups


def count_parameters(model) -> tuple[int, int]:
    seen, total, trainable = set(), 0, 0
    for p in model.parameters():
        if id(p) in seen:
            continue
        seen.add(id(p))
        total += p.numel()
        if p.requires_grad:
            trainable += p.numel()
    return total, trainable
