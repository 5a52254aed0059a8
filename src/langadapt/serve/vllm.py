"""`langadapt serve MODEL --engine vllm`: hand the model to vLLM's OpenAI-compatible server (GPU).

Adapters are merged into a plain checkpoint first: vLLM cannot serve LoRA adapters that train
embed_tokens/lm_head or extend the vocabulary, which language adaptation usually does.
"""

from __future__ import annotations

import os
import sys
import re
from pathlib import Path

from langadapt.atomic import atomic_dir
from langadapt.errors import UserError, require
from langadapt.models import resolve_model
from langadapt.models.gguf import save_plain
from langadapt.paths import cache_dir
from langadapt.fingerprint import fingerprint_path
from langadapt.serve.loading import load_for_serving

_KEY = re.compile(r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$")
_OWN = {"model": "MODEL", "host": "--host", "port": "--port", "api-key": "--api-key",
        "served-model-name": "--served-model-name", "dtype": "--dtype"}
_REFUSED = {"trust-remote-code": "remote code from a model folder is never run by langadapt"}


def engine_flags(pairs: list[str]) -> list[str]:
    """`["gpu-memory-utilization=0.8", "enforce-eager"]` -> vLLM command-line flags, or a UserError."""
    flags: list[str] = []
    for pair in pairs:
        key, eq, value = pair.partition("=")
        key = key.strip().removeprefix("--").replace("_", "-").lower()
        if not _KEY.match(key):
            raise UserError(f"--engine-arg {pair!r}: expected KEY=VALUE or FLAG with KEY like gpu-memory-utilization")
        if key in _OWN:
            raise UserError(f"--engine-arg {key}: set it with langadapt serve's own {_OWN[key]}")
        if key in _REFUSED:
            raise UserError(f"--engine-arg {key}: refused ({_REFUSED[key]})")
        if eq and (not value or "\0" in value or "\n" in value):
            raise UserError(f"--engine-arg {pair!r}: the value must be non-empty text on one line")
        flags += [f"--{key}", value] if eq else [f"--{key}"]
    return flags


def vllm_command(model_dir: str, host: str, port: int, api_key: str | None, served_names: list[str],
                 dtype: str, extra: list[str] = ()) -> list[str]:
    cmd = [sys.executable, "-m", "vllm.entrypoints.openai.api_server", "--model", model_dir,
           "--host", host, "--port", str(port), "--served-model-name", *served_names]
    if dtype != "auto":
        cmd += ["--dtype", {"fp32": "float32", "bf16": "bfloat16", "fp16": "float16"}[dtype]]
    if api_key:
        cmd += ["--api-key", api_key]
    return cmd + list(extra)


def merged_checkpoint(ref: str, adapter: str | None) -> str:
    """A local folder with full weights vLLM can load (merged once into the cache for adapters)."""
    resolved = resolve_model(ref)
    if adapter is None and resolved.kind != "adapter":
        return resolved.weights

    source = adapter or resolved.path
    target = cache_dir("merged") / f"{Path(source).name}-{fingerprint_path(source)[:12]}"
    if not (target / "config.json").exists():
        model, tokenizer = load_for_serving(ref, adapter, merge=True)
        with atomic_dir(target) as tmp:
            save_plain(model, tmp)
            tokenizer.save_pretrained(tmp)
    return str(target)


def serve_with_vllm(ref: str, adapter: str | None, host: str, port: int, api_key: str | None,
                    served_names: list[str], dtype: str = "auto", extra: list[str] = ()) -> int:
    require("vllm", "vllm", "langadapt serve --engine vllm (a GPU server; without it, use the built-in engine)")
    cmd = vllm_command(merged_checkpoint(ref, adapter), host, port, api_key, served_names, dtype, extra)
    print("langadapt serve: starting vLLM:", " ".join(c if c != api_key else "***" for c in cmd), flush=True)
    os.execv(cmd[0], cmd)
    return 0  # not reached: the process is now vLLM
