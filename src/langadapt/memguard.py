"""Stop before a step allocates more memory than the machine has, with the estimate in the message.

    check_model_fits("meta-llama/Llama-2-7b", "extending the tokenizer")   # UserError when it cannot fit
    check_load_fits(folder, "training ... on CPU", 16)                     # bytes per parameter, a lower bound

Used where host memory holds the weights: the tokenizer stage's resize, every CPU model load
(`models.load_model`: eval, chat, serve, export) and CPU training (`train.loading`, which counts the
gradient and AdamW moments of a method that trains every weight).

Without the check, a model too big for the machine is not an error but a kill: the kernel's OOM
killer ends the process with no message (a vocabulary-only GGUF once made `tokenizer extend` build
a random 7B model, ~27 GB in fp32). The estimate needs no weights: parameter counts come from the
GGUF's tensor table or from the config on the meta device (no memory allocated).
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

from langadapt.errors import UserError

log = logging.getLogger(__name__)

GB = 1024**3


def available_bytes() -> int:
    """Memory this process can still take: the lower of the machine's available memory and its cgroup's room."""
    import psutil

    room = psutil.virtual_memory().available
    try:
        limit = Path("/sys/fs/cgroup/memory.max").read_text().strip()
        used = int(Path("/sys/fs/cgroup/memory.current").read_text().strip())
        if limit != "max":
            room = min(room, int(limit) - used)
    except (OSError, ValueError):
        pass
    return max(0, room)


def gguf_parameters(path: str | Path) -> int:
    import gguf

    return sum(int(t.n_elements) for t in gguf.GGUFReader(str(path)).tensors)


def config_parameters(folder: str | Path) -> int | None:
    """Parameters of the model a config.json describes, counted on the meta device."""
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM

    try:
        config = AutoConfig.from_pretrained(str(folder), trust_remote_code=False)
        with torch.device("meta"):
            model = AutoModelForCausalLM.from_config(config, trust_remote_code=False)
    except (ValueError, KeyError, OSError, json.JSONDecodeError) as exc:
        log.info("no parameter count for %s: %s", folder, exc)
        return None
    return sum(p.numel() for p in model.parameters())


def model_parameters(ref: str | Path) -> int | None:
    """Parameters of a local GGUF file or model folder, or None when they cannot be told offline."""
    path = Path(str(ref)).expanduser()
    if path.suffix == ".gguf" and path.is_file():
        return gguf_parameters(path)
    if path.is_dir() and (path / "config.json").is_file():
        return config_parameters(path)
    return None


def fp32_load_bytes(ref: str | Path) -> int | None:
    """Peak bytes of loading `ref` in fp32 (the tokenizer stage's dtype), or None when it cannot be told offline."""
    n = model_parameters(ref)
    if n is None:
        return None
    # Converting a GGUF holds the dequantised tensors and the model built from them at once.
    return (2 if Path(str(ref)).expanduser().is_file() else 1) * 4 * n


def check_fits(need: int, what: str, hint: str = "") -> None:
    room = available_bytes()
    if need > room:
        raise UserError(f"{what} needs about {need / GB:.1f} GB of memory; this machine has {room / GB:.1f} GB "
                        f"available. Stopped before allocating it{'; ' + hint if hint else ''}")


def check_model_fits(ref: str | Path, what: str, extra_bytes: int = 0, hint: str = "") -> int | None:
    """Raise UserError when loading `ref` in fp32 (+ `extra_bytes`) cannot fit; returns the estimate."""
    need = fp32_load_bytes(ref)
    if need is None:
        return None
    check_fits(need + extra_bytes, what, hint)
    return need + extra_bytes


def check_load_fits(ref: str | Path, what: str, bytes_per_parameter: float, hint: str = "") -> int | None:
    """Raise UserError when `ref`'s parameters at `bytes_per_parameter` cannot fit; returns the estimate.
    A lower bound (no activations, no loader overhead), so it stops only what cannot possibly run."""
    n = model_parameters(ref)
    if n is None:
        return None
    need = int(n * bytes_per_parameter)
    check_fits(need, what, hint)
    return need
