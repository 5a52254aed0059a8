"""Atomic training checkpoints that resume exactly: trained weights, optimiser, step, and every RNG.

    save(out_dir / "checkpoints", step, model, optimizer, state, keep=2)
    ckpt = latest(out_dir / "checkpoints")     # newest complete checkpoint or None
    state = restore(ckpt, model, optimizer)

Only weights that train are stored (safetensors), so LoRA checkpoints stay small. The optimiser
state is a tensor-only dict loaded with `weights_only=True` (no arbitrary pickle). A checkpoint
folder is written beside its final name and renamed into place, so a kill mid-save leaves the
previous checkpoint as the newest.
"""

from __future__ import annotations

import json
import random
import re
import shutil
from pathlib import Path
from typing import Any

import torch

from langadapt.atomic import atomic_dir

_NAME = re.compile(r"^step-(\d+)$")


def trainable_state(model) -> dict[str, torch.Tensor]:
    seen, out = set(), {}
    for name, p in model.named_parameters():
        if p.requires_grad and id(p) not in seen:
            seen.add(id(p))
            out[name] = p.detach().to("cpu").contiguous()
    return out


def rng_state() -> dict[str, Any]:
    state = {"python": _py_state(random.getstate()), "torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def _py_state(s):
    return [s[0], list(s[1]), s[2]]


def save(root: Path, step: int, model, optimizer, state: dict, keep: int) -> Path:
    from safetensors.torch import save_file

    root = Path(root)
    target = root / f"step-{step:08d}"
    rng = rng_state()
    with atomic_dir(target) as tmp:
        save_file(trainable_state(model), str(tmp / "trainable.safetensors"))
        torch.save({"optimizer": optimizer.state_dict(), "torch_rng": rng["torch"],
                    "cuda_rng": rng.get("cuda", [])}, tmp / "optimizer.pt")
        (tmp / "state.json").write_text(json.dumps({**state, "step": step, "python_rng": rng["python"]}), encoding="utf-8")
    prune(root, keep)
    return target


def checkpoints(root: Path) -> list[Path]:
    root = Path(root)
    if not root.is_dir():
        return []
    found = [p for p in root.iterdir() if _NAME.match(p.name) and (p / "state.json").is_file()]
    return sorted(found, key=lambda p: int(_NAME.match(p.name).group(1)))


def latest(root: Path) -> Path | None:
    found = checkpoints(root)
    return found[-1] if found else None


def prune(root: Path, keep: int) -> None:
    for old in checkpoints(root)[:-keep]:
        shutil.rmtree(old, ignore_errors=True)


def restore(ckpt: Path, model, optimizer) -> dict:
    from safetensors.torch import load_file

    weights = load_file(str(ckpt / "trainable.safetensors"))
    params = dict(model.named_parameters())
    missing = [k for k in weights if k not in params]
    if missing:
        raise RuntimeError(f"{ckpt}: checkpoint has weights the model lacks: {missing[:3]}")
    with torch.no_grad():
        for name, tensor in weights.items():
            params[name].copy_(tensor.to(params[name].device, params[name].dtype))
    blob = torch.load(ckpt / "optimizer.pt", map_location="cpu", weights_only=True)
    optimizer.load_state_dict(blob["optimizer"])
    state = json.loads((ckpt / "state.json").read_text(encoding="utf-8"))
    py = state.pop("python_rng")
    random.setstate((py[0], tuple(py[1]), py[2]))
    torch.set_rng_state(blob["torch_rng"])
    if blob.get("cuda_rng") and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(blob["cuda_rng"])
    return state
