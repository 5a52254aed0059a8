"""Load a model (plus an optional LoRA adapter), merge it, and save a standalone checkpoint.

    from langadapt.export.merge import load_source, merge, save_checkpoint
    src = load_source("runs/demo/tokenizer/model", adapter="runs/demo/pretrain/adapter")
    save_checkpoint(merge(src), src.tokenizer, "out/", dtype="bf16")

Adapters that train new-token rows (`trainable_token_indices`, `modules_to_save` on
`embed_tokens`/`lm_head`) need the base embedding matrix resized to the extended vocabulary
before PEFT loads them; PEFT's `merge_and_unload` then folds every kind of delta in.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from langadapt.errors import UserError
from langadapt.models.gguf import save_plain
from langadapt.models.resolve import ResolvedModel, resolve_model

DTYPES = {"fp32": "float32", "bf16": "bfloat16", "fp16": "float16"}
ADAPTER_FILES = ("adapter_config.json", "adapter_model.safetensors")


class ExportError(UserError):
    """The export cannot go on; the message says why."""


@dataclass
class Source:
    """What is being exported: a model with an adapter attached (unmerged) or a plain model."""

    model: Any
    tokenizer: Any
    base: ResolvedModel
    adapter: Path | None = None

    @property
    def has_adapter(self) -> bool:
        return self.adapter is not None


def resolve_inputs(model: str | None, adapter: str | None) -> tuple[ResolvedModel, Path | None]:
    """Which full-weight model and which adapter folder; a model ref that is an adapter counts as the adapter."""
    if model is None and adapter is None:
        raise ExportError("nothing to export: give a model (--model) or an adapter (--adapter)")
    if adapter is None:
        resolved = resolve_model(model)
        if resolved.kind == "adapter":
            return resolved.base, Path(resolved.path)
        return resolved, None
    adapter_dir = Path(adapter)
    if not (adapter_dir / "adapter_config.json").is_file():
        raise ExportError(f"{adapter}: not an adapter folder (no adapter_config.json)")
    if model is not None:
        return resolve_model(model), adapter_dir
    resolved = resolve_model(adapter_dir)
    return resolved.base, adapter_dir


def base_model_id(base: ResolvedModel) -> str | None:
    """The Hub id a base model stands for (aliases and Hub refs), or None for local-only models."""
    for candidate in (base.source, base.ref):
        if candidate and candidate.count("/") == 1 and " " not in candidate and not Path(candidate).exists():
            return candidate
    return None


def _has_tokenizer(folder: Path) -> bool:
    return any((folder / n).exists() for n in ("tokenizer.json", "tokenizer.model", "tokenizer_config.json"))


def adapter_vocab_rows(adapter_dir: Path) -> int | None:
    """Rows of the embedding matrix the adapter was trained against, when it stores any embedding weights."""
    from safetensors import safe_open

    weights = adapter_dir / "adapter_model.safetensors"
    if not weights.is_file():
        return None
    rows = None
    with safe_open(str(weights), framework="pt") as fh:
        for key in fh.keys():
            if "embed_tokens" in key and key.endswith("weight") and "lora_" not in key and "delta" not in key:
                rows = max(rows or 0, fh.get_slice(key).get_shape()[0])
    return rows


def load_source(model: str | None = None, adapter: str | None = None, dtype: str = "fp32") -> Source:
    """Load base weights in `dtype` (fp32 by default, so the merge itself adds no rounding) and attach the adapter."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    base, adapter_dir = resolve_inputs(model, adapter)
    tok_dir = adapter_dir if adapter_dir is not None and _has_tokenizer(adapter_dir) else None
    tokenizer = AutoTokenizer.from_pretrained(str(tok_dir or base.weights))
    torch_dtype = getattr(torch, DTYPES[dtype])
    loaded = AutoModelForCausalLM.from_pretrained(base.weights, dtype=torch_dtype)
    if adapter_dir is None:
        loaded.eval()
        return Source(loaded, tokenizer, base)
    from peft import PeftModel

    # The adapter may carry new-token rows for a vocabulary larger than the base checkpoint's;
    # the matrix must have that shape before PEFT copies the rows in.
    rows = adapter_vocab_rows(adapter_dir) or len(tokenizer)
    if loaded.get_input_embeddings().weight.shape[0] < rows:
        loaded.resize_token_embeddings(rows, mean_resizing=False)
    peft_model = PeftModel.from_pretrained(loaded, str(adapter_dir))
    peft_model.eval()
    return Source(peft_model, tokenizer, base, adapter_dir)


def _untie_if_diverged(model: Any) -> None:
    """Mark embeddings untied when training left input and output matrices different.

    With `modules_to_save=[embed_tokens, lm_head]` each gets its own trained copy; saving such a
    model with `tie_word_embeddings=True` would silently drop the trained output matrix.
    """
    import torch

    emb, out = model.get_input_embeddings(), model.get_output_embeddings()
    if out is None or emb.weight is out.weight:
        return
    if emb.weight.shape == out.weight.shape and torch.equal(emb.weight, out.weight):
        return
    for cfg in (model.config, getattr(model.config, "text_config", None)):
        if cfg is not None and getattr(cfg, "tie_word_embeddings", False):
            cfg.tie_word_embeddings = False


def merge(source: Source) -> Any:
    """The plain model with the adapter folded into its weights (the model itself when there is no adapter)."""
    if not source.has_adapter:
        return source.model
    merged = source.model.merge_and_unload()
    _untie_if_diverged(merged)
    merged.eval()
    return merged


def generation_config(model: Any, tokenizer: Any, generation: Any | None) -> Any:
    """HF GenerationConfig from the recipe's generation defaults (or the model's own when none are given)."""
    from transformers import GenerationConfig

    if generation is None:
        return model.generation_config
    ids = {}
    for name in ("bos_token_id", "eos_token_id", "pad_token_id"):
        value = getattr(model.generation_config, name, None)
        if value is None:
            value = getattr(tokenizer, name, None)
        if value is not None:
            ids[name] = value
    return GenerationConfig(**ids, **generation.to_hf_kwargs())


def save_checkpoint(model: Any, tokenizer: Any, out_dir: str | Path, dtype: str = "bf16",
                    max_shard_size: str = "5GB", generation: Any | None = None) -> dict:
    """Write safetensors weights in `dtype`, the tokenizer with its chat template and generation_config.json."""
    import torch

    out_dir = Path(out_dir)
    model = model.to(getattr(torch, DTYPES[dtype]))
    model.generation_config = generation_config(model, tokenizer, generation)
    save_plain(model, out_dir, max_shard_size=max_shard_size)
    tokenizer.save_pretrained(out_dir)
    files = sorted(p.name for p in out_dir.glob("*.safetensors"))
    return {
        "format": "safetensors",
        "dtype": dtype,
        "shards": len(files),
        "weights_bytes": sum((out_dir / f).stat().st_size for f in files),
        "num_parameters": int(model.num_parameters()),
        "vocab_size": len(tokenizer),
        "embedding_rows": int(model.get_input_embeddings().weight.shape[0]),
        "architecture": (model.config.architectures or [type(model).__name__])[0],
    }


def save_adapter(adapter_dir: Path, tokenizer: Any, base: ResolvedModel, out_dir: str | Path) -> dict:
    """Adapter-only export: the adapter files and the (extended) tokenizer, loadable with PEFT on top of the base."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    for name in ADAPTER_FILES:
        if not (adapter_dir / name).is_file():
            raise ExportError(f"{adapter_dir}: adapter folder lacks {name}")
        shutil.copy2(adapter_dir / name, out_dir / name)
    cfg = json.loads((out_dir / "adapter_config.json").read_text(encoding="utf-8"))
    # A Hub id is portable; a local path means nothing on another machine, but it is still the truth.
    cfg["base_model_name_or_path"] = base_model_id(base) or base.weights
    (out_dir / "adapter_config.json").write_text(json.dumps(cfg, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    tokenizer.save_pretrained(out_dir)
    return {
        "format": "peft-adapter",
        "weights_bytes": (out_dir / "adapter_model.safetensors").stat().st_size,
        "vocab_size": len(tokenizer),
        "peft_type": cfg.get("peft_type"),
        "r": cfg.get("r"),
        "lora_alpha": cfg.get("lora_alpha"),
    }
