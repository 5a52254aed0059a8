"""One resolver for every model reference: built-in alias, GGUF file, local directory, adapter directory or Hub id.

GGUF files are converted once into a normal safetensors checkpoint in the cache, so every stage
loads a plain Hugging Face directory and nothing downstream needs to know where weights came from.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from langadapt.errors import UserError, require
from langadapt.memguard import check_load_fits
from langadapt.models.aliases import ALIASES, ALIAS_SOURCES
from langadapt.models.errors import ModelNotFound
from langadapt.models.gguf import materialize_gguf

Kind = Literal["alias", "gguf", "local", "adapter", "hub"]


@dataclass(frozen=True)
class ResolvedModel:
    ref: str
    kind: Kind
    path: str
    """A local HF directory, or the Hub id for `hub`. For `adapter`, the adapter directory."""
    base: "ResolvedModel | None" = None
    """For adapters: the model the adapter applies to."""
    source: str | None = None
    """Where the weights originally came from (Hub id of an alias, GGUF path)."""

    @property
    def weights(self) -> str:
        """The directory or Hub id holding the full model weights (the base for adapters)."""
        return self.base.weights if self.base else self.path


def resolve_model(ref: str | os.PathLike) -> ResolvedModel:
    text = str(ref)
    if text in ALIASES:
        target = ALIASES[text]()
        if target.suffix == ".gguf":
            return ResolvedModel(text, "alias", str(materialize_gguf(target)), source=ALIAS_SOURCES[text])
        return ResolvedModel(text, "alias", str(target), source=ALIAS_SOURCES[text])
    path = Path(text).expanduser()
    if path.suffix == ".gguf":
        if not path.is_file():
            raise ModelNotFound(f"{text}: no such GGUF file")
        return ResolvedModel(text, "gguf", str(materialize_gguf(path)), source=str(path.resolve()))
    if path.is_dir():
        if (path / "adapter_config.json").exists():
            cfg = json.loads((path / "adapter_config.json").read_text())
            base_ref = cfg.get("base_model_name_or_path")
            if not base_ref:
                raise ModelNotFound(f"{text}: adapter_config.json names no base model")
            return ResolvedModel(text, "adapter", str(path.resolve()), base=resolve_model(base_ref))
        if (path / "config.json").exists():
            return ResolvedModel(text, "local", str(path.resolve()))
        raise ModelNotFound(f"{text}: folder has neither config.json (a model) nor adapter_config.json (an adapter)")
    if path.exists() or text.startswith((".", "/", "~")) or text.count("/") != 1:
        known = ", ".join(sorted(ALIASES))
        raise ModelNotFound(f"{text}: not a model folder, GGUF file, Hub id (owner/name) or alias ({known})")
    return ResolvedModel(text, "hub", text, source=text)


def _offline_hint(ref: str, exc: Exception) -> ModelNotFound:
    return ModelNotFound(
        f"{ref}: could not load from the Hugging Face Hub ({type(exc).__name__}: {str(exc).splitlines()[0][:160]}). "
        "If this machine is offline, download the model elsewhere and pass its local folder, or use a GGUF file or alias."
    )


def load_tokenizer(ref: str | os.PathLike | ResolvedModel, trust_remote_code: bool = False, **kwargs: Any):
    from transformers import AutoTokenizer

    resolved = ref if isinstance(ref, ResolvedModel) else resolve_model(ref)
    # An adapter folder from the tokenizer-extension path carries its own tokenizer; prefer it.
    source = resolved.path if resolved.kind == "adapter" and _has_tokenizer(resolved.path) else resolved.weights
    try:
        return AutoTokenizer.from_pretrained(source, trust_remote_code=trust_remote_code, **kwargs)
    except OSError as exc:
        if resolved.kind == "hub" or (resolved.base and resolved.base.kind == "hub"):
            raise _offline_hint(resolved.ref, exc) from None
        raise


def _has_tokenizer(folder: str) -> bool:
    return any((Path(folder) / name).exists() for name in ("tokenizer.json", "tokenizer.model", "tokenizer_config.json"))


def load_model(
    ref: str | os.PathLike | ResolvedModel,
    dtype: str | Any = "auto",
    device: str | None = None,
    trust_remote_code: bool = False,
    merge_adapter: bool = False,
    quantization: str | None = None,
    **kwargs: Any,
):
    """Load a causal LM; adapters are applied on top of their base (and merged when asked).

    `quantization="8bit"|"4bit"` loads the weights through bitsandbytes (CUDA only) for inference.
    """
    import torch
    from transformers import AutoModelForCausalLM

    if quantization:
        kwargs = {**kwargs, **_quantization_kwargs(quantization, torch)}
        device = None  # bitsandbytes places the weights itself; moving them afterwards is an error
    resolved = ref if isinstance(ref, ResolvedModel) else resolve_model(ref)
    torch_dtype = _dtype(dtype, torch)
    if not quantization and not torch.cuda.is_available():
        # In host memory a model too big is not an error but a kill by the kernel, with no message.
        check_load_fits(resolved.weights, f"loading {resolved.ref}",
                        torch_dtype.itemsize if isinstance(torch_dtype, torch.dtype) else 2)
    try:
        model = AutoModelForCausalLM.from_pretrained(
            resolved.weights, dtype=torch_dtype, trust_remote_code=trust_remote_code, **kwargs
        )
    except OSError as exc:
        if (resolved.base or resolved).kind == "hub":
            raise _offline_hint(resolved.ref, exc) from None
        raise
    if resolved.kind == "adapter":
        from peft import PeftModel

        if _has_tokenizer(resolved.path):
            tok_len = len(load_tokenizer(resolved))
            if model.get_input_embeddings().weight.shape[0] < tok_len:
                model.resize_token_embeddings(tok_len)
        model = PeftModel.from_pretrained(model, resolved.path)
        if merge_adapter:
            model = model.merge_and_unload()
    if device:
        model.to(device)
    model.eval()
    return model


def _quantization_kwargs(quantization: str, torch: Any) -> dict[str, Any]:
    """from_pretrained arguments for 8-bit or 4-bit (NF4) weights; checked before anything is loaded."""
    if quantization not in ("8bit", "4bit"):
        raise UserError(f"quantization must be 8bit or 4bit, got {quantization!r}")
    if not torch.cuda.is_available():
        raise UserError(f"loading in {quantization} needs a CUDA GPU (bitsandbytes); this machine has none. "
                        "Load without --load-in, or pick a smaller dtype with --dtype bf16")
    require("bitsandbytes", "qlora", f"loading in {quantization}")
    from transformers import BitsAndBytesConfig

    if quantization == "8bit":
        config = BitsAndBytesConfig(load_in_8bit=True)
    else:
        compute = torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
        config = BitsAndBytesConfig(load_in_4bit=True, bnb_4bit_quant_type="nf4", bnb_4bit_use_double_quant=True,
                                    bnb_4bit_compute_dtype=compute)
    return {"quantization_config": config, "device_map": {"": torch.cuda.current_device()}}


def _dtype(dtype: Any, torch: Any) -> Any:
    if dtype in (None, "auto"):
        return torch.float32 if not torch.cuda.is_available() else "auto"
    if isinstance(dtype, str):
        return {"fp32": torch.float32, "float32": torch.float32, "bf16": torch.bfloat16, "bfloat16": torch.bfloat16,
                "fp16": torch.float16, "float16": torch.float16}[dtype]
    return dtype
