"""Training methods: which weights train and how the model is loaded for them.

    loaded = prepare(model_ref, cfg)      # cfg: TrainConfig; returns model, tokenizer, extension, param groups
    full        every weight trains
    lora        LoRA on cfg.lora.target_modules; new token rows train too (PEFT trainable tokens)
    qlora       as lora on a 4-bit NF4 base (bitsandbytes, CUDA only)
    embeddings  only the rows of the tokens added by the tokenizer stage (stage one of Chinese-LLaMA)
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from langadapt.errors import UserError, require

EXTENSION_FILE = "langadapt_extension.json"


@dataclass
class Loaded:
    model: Any
    tokenizer: Any
    base_ref: str
    extension: dict | None
    new_token_ids: list[int]
    param_groups: list[dict]
    is_peft: bool
    precision: str
    notes: list[str] = field(default_factory=list)


def read_extension(model_dir: str) -> dict | None:
    path = Path(model_dir) / EXTENSION_FILE
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else None


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


def check_method(cfg) -> None:
    """Fail before any loading when the method cannot run on this machine."""
    if cfg.method == "qlora":
        if not torch.cuda.is_available():
            raise UserError("method qlora needs a CUDA GPU (bitsandbytes 4-bit kernels); on this machine use method=lora")
        require("bitsandbytes", "qlora", "method qlora")
    if cfg.attn_implementation == "flash_attention_2" and not torch.cuda.is_available():
        raise UserError("attn_implementation flash_attention_2 needs a CUDA GPU; use sdpa")


def _attn_impl(cfg) -> str:
    if cfg.long_context.s2_attn:
        from langadapt.train.s2attn import register

        return register(cfg.long_context.group_size_ratio)
    if cfg.attn_implementation != "auto":
        return cfg.attn_implementation
    import importlib.util

    if torch.cuda.is_available() and importlib.util.find_spec("flash_attn") is not None:
        return "flash_attention_2"
    return "sdpa"


def _model_config(path: str, cfg):
    from transformers import AutoConfig

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
    from transformers import AutoModelForCausalLM

    from langadapt.models import load_tokenizer, resolve_model

    check_method(cfg)
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
    config = _model_config(path, cfg)
    kwargs: dict[str, Any] = {"config": config, "attn_implementation": _attn_impl(cfg)}
    lowp = {"bf16": torch.bfloat16, "fp16": torch.float16}.get(precision)
    if cfg.method == "qlora":
        from transformers import BitsAndBytesConfig

        compute = {"bf16": torch.bfloat16, "fp16": torch.float16, "fp32": torch.float32}[cfg.quant.compute_dtype]
        kwargs["quantization_config"] = BitsAndBytesConfig(
            load_in_4bit=True, bnb_4bit_quant_type=cfg.quant.quant_type,
            bnb_4bit_use_double_quant=cfg.quant.double_quant, bnb_4bit_compute_dtype=compute)
        kwargs["dtype"] = compute
        kwargs["device_map"] = {"": torch.cuda.current_device()}
    elif cfg.method in ("lora", "embeddings") and lowp is not None and torch.cuda.is_available():
        kwargs["dtype"] = lowp  # frozen base in half precision; PEFT keeps the trained weights in fp32
    else:
        kwargs["dtype"] = torch.float32  # full fine-tuning keeps fp32 master weights; autocast does the rest
    model = AutoModelForCausalLM.from_pretrained(path, **kwargs)
    model.config.use_cache = False
    if len(tokenizer) > model.get_input_embeddings().weight.shape[0]:
        raise UserError(f"{model_ref}: tokenizer has {len(tokenizer)} tokens but the model only "
                        f"{model.get_input_embeddings().weight.shape[0]} rows; run the tokenizer stage's resize")

    notes: list[str] = []
    tied = bool(getattr(model.config, "tie_word_embeddings", False))
    is_peft = cfg.method != "full"
    if cfg.method == "qlora":
        from peft import prepare_model_for_kbit_training

        model = prepare_model_for_kbit_training(model, use_gradient_checkpointing=cfg.gradient_checkpointing)
    elif cfg.gradient_checkpointing:
        model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
        if is_peft:
            model.enable_input_require_grads()

    if cfg.method == "embeddings":
        if not new_ids:
            raise UserError("method embeddings trains the rows of new tokens, but the input model has no "
                            f"{EXTENSION_FILE} (run the tokenizer stage first, or use method lora/full)")
        from peft import TrainableTokensConfig, get_peft_model

        targets = ["embed_tokens"] if tied else ["embed_tokens", "lm_head"]
        model = get_peft_model(model, TrainableTokensConfig(target_modules=targets, token_indices=new_ids))
    elif cfg.method in ("lora", "qlora"):
        from peft import LoraConfig, get_peft_model

        token_idx = None
        if cfg.lora.train_new_embeddings and new_ids:
            token_idx = {"embed_tokens": new_ids} if tied else {"embed_tokens": new_ids, "lm_head": new_ids}
            notes.append(f"{len(new_ids)} new token rows train with the adapter")
        lcfg = LoraConfig(r=cfg.lora.r, lora_alpha=cfg.lora.alpha, lora_dropout=cfg.lora.dropout,
                          target_modules=list(cfg.lora.target_modules), task_type="CAUSAL_LM",
                          modules_to_save=list(cfg.lora.modules_to_save) or None,
                          trainable_token_indices=token_idx)
        model = get_peft_model(model, lcfg)
    if cfg.long_context.s2_attn and cfg.method in ("lora", "qlora") and not cfg.lora.modules_to_save:
        notes.append("S2-Attn with LoRA: LongLoRA trains embeddings and norms too (lora.modules_to_save: [embed_tokens, norm])")

    groups = param_groups(model, cfg)
    return Loaded(model, tokenizer, str(model_ref), extension, new_ids, groups, is_peft, precision, notes)


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
