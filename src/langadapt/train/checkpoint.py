"""Atomic, verified training checkpoints that resume exactly: trained weights, optimiser, step, every RNG.

    save(out_dir / "checkpoints", step, model, optimizer, state, keep=2)
    ckpt = latest(out_dir / "checkpoints")     # newest checkpoint that verifies, or None
    check_resume(ckpt, run_settings(cfg, model_ref, world), force=False)
    state = restore(ckpt, model, optimizer)

Only weights that train are stored (safetensors), so LoRA checkpoints stay small. The optimiser
state is a tensor-only dict loaded with `weights_only=True` (no arbitrary pickle). A checkpoint
folder is written beside its final name, every file and the folder are fsynced, and only then is it
renamed into place: a kill or a power loss mid-save leaves the previous checkpoint as the newest.
`state.json` records each data file's size and xxh3 checksum, so `latest()` can tell a checkpoint
that only looks complete (a file truncated by a crash of the disk cache) and fall back to the one
before it, with a warning. Resuming compares the run's settings with those saved: a changed
schedule, seed or base model would silently mix two runs, so it is refused unless forced.
"""

from __future__ import annotations

import json
import logging
import os
import random
import re
import shutil
import time
from pathlib import Path
from typing import Any

import torch

from langadapt.atomic import atomic_dir
from langadapt.errors import UserError

log = logging.getLogger(__name__)

_NAME = re.compile(r"^step-(\d+)$")
_LEFTOVER = re.compile(r"^\.step-\d+\.(tmp|old)-")
DATA_FILES = ("trainable.safetensors", "optimizer.pt")
# Settings that fix the LR schedule, the data order or the weights being trained: a resume that
# changes any of them is a different run.
RESUME_KEYS = ("base_model", "learning_rate", "min_learning_rate", "lr_scheduler", "warmup_steps", "warmup_ratio",
               "max_steps", "epochs", "max_minutes", "global_batch", "seed", "method", "max_seq_length", "packing")
# Test hook for fault injection: seconds to pause inside a save, between the data files and state.json.
PAUSE_ENV = "LANGADAPT_CHECKPOINT_PAUSE_S"


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


def file_digest(path: Path) -> str:
    import xxhash

    h = xxhash.xxh3_64()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(8 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def save(root: Path, step: int, model, optimizer, state: dict, keep: int) -> Path:
    from safetensors.torch import save_file

    root = Path(root)
    prune_leftovers(root)
    target = root / f"step-{step:08d}"
    rng = rng_state()
    with atomic_dir(target) as tmp:
        save_file(trainable_state(model), str(tmp / "trainable.safetensors"))
        torch.save({"optimizer": optimizer.state_dict(), "torch_rng": rng["torch"],
                    "cuda_rng": rng.get("cuda", [])}, tmp / "optimizer.pt")
        if os.environ.get(PAUSE_ENV):
            time.sleep(float(os.environ[PAUSE_ENV]))
        files = {name: {"bytes": (tmp / name).stat().st_size, "xxh3": file_digest(tmp / name)} for name in DATA_FILES}
        (tmp / "state.json").write_text(json.dumps({**state, "step": step, "python_rng": rng["python"],
                                                    "files": files}), encoding="utf-8")
    prune(root, keep)
    return target


def checkpoints(root: Path) -> list[Path]:
    root = Path(root)
    if not root.is_dir():
        return []
    found = [p for p in root.iterdir() if _NAME.match(p.name) and (p / "state.json").is_file()]
    return sorted(found, key=lambda p: int(_NAME.match(p.name).group(1)))


def problem(ckpt: Path) -> str | None:
    """Why `ckpt` cannot be resumed from (a missing, truncated or altered file), or None when it verifies."""
    try:
        state = json.loads((ckpt / "state.json").read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        return f"state.json unreadable ({type(exc).__name__})"
    if not isinstance(state, dict):
        return "state.json is not an object"
    # Checkpoints from before checksums were recorded: the files must at least be there.
    files = state.get("files") or {name: None for name in DATA_FILES}
    for name, meta in files.items():
        path = ckpt / name
        if not path.is_file():
            return f"{name} is missing"
        if meta is None:
            continue
        size = path.stat().st_size
        if size != meta["bytes"]:
            return f"{name} has {size} bytes, {meta['bytes']} were written"
        if file_digest(path) != meta["xxh3"]:
            return f"{name} checksum differs from the one recorded"
    return None


def latest(root: Path) -> Path | None:
    """The newest checkpoint that verifies; damaged newer ones are skipped with a warning (and kept for inspection)."""
    prune_leftovers(root)
    found = checkpoints(root)
    for i in range(len(found) - 1, -1, -1):
        why = problem(found[i])
        if why is None:
            return found[i]
        fallback = f"falling back to {found[i - 1].name}" if i else "no earlier checkpoint: starting from step 0"
        log.warning("checkpoint %s is damaged (%s); %s", found[i], why, fallback)
    return None


def prune(root: Path, keep: int) -> None:
    for old in checkpoints(root)[:-keep]:
        shutil.rmtree(old, ignore_errors=True)


def prune_leftovers(root: Path) -> None:
    """Remove the temporary folders of saves that were killed (`.step-*.tmp-*`, `.step-*.old-*`)."""
    root = Path(root)
    if not root.is_dir():
        return
    for p in root.iterdir():
        if _LEFTOVER.match(p.name) and p.is_dir():
            shutil.rmtree(p, ignore_errors=True)


def run_settings(cfg, model_ref: str, world: int) -> dict[str, Any]:
    """The settings a checkpoint must share with the run resuming from it."""
    path = Path(str(model_ref)).expanduser()
    settings = {k: getattr(cfg, k) for k in RESUME_KEYS if hasattr(cfg, k)}
    settings["base_model"] = str(path.resolve()) if path.exists() else str(model_ref)
    settings["global_batch"] = cfg.per_device_batch_size * cfg.gradient_accumulation_steps * world
    return settings


def resume_changes(saved: dict, now: dict) -> list[str]:
    """`key: old -> new` for every resume setting that differs (settings the checkpoint lacks are not compared)."""
    return [f"{k}: {saved[k]!r} -> {now.get(k)!r}" for k in RESUME_KEYS if k in saved and saved[k] != now.get(k)]


def check_resume(ckpt: Path, settings: dict, force: bool) -> list[str]:
    """Refuse to resume from `ckpt` with changed settings unless `force`; returns the changes."""
    saved = json.loads((Path(ckpt) / "state.json").read_text(encoding="utf-8")).get("settings") or {}
    changes = resume_changes(saved, settings)
    if changes and not force:
        raise UserError(f"{ckpt} was written with other settings ({'; '.join(changes)}). Resuming would mix two runs: "
                        "restore those settings, use a new --out, or pass --resume force to continue with the new ones")
    if changes:
        log.warning("resuming from %s with changed settings (forced): %s", ckpt, "; ".join(changes))
    return changes


def restore(ckpt: Path, model, optimizer, keep_hyperparameters: bool = False) -> dict:
    """Load `ckpt` into `model` and `optimizer`; `keep_hyperparameters` keeps the optimiser's current
    learning rates, betas and weight decay instead of the saved ones (a forced resume with new settings)."""
    from safetensors.torch import load_file

    weights = load_file(str(ckpt / "trainable.safetensors"))
    params = dict(model.named_parameters())
    missing = [k for k in weights if k not in params]
    if missing:
        raise RuntimeError(f"{ckpt}: checkpoint has weights the model lacks: {missing[:3]}")
    with torch.no_grad():
        for name, tensor in weights.items():
            params[name].copy_(tensor.to(params[name].device, params[name].dtype))
    current = [{k: v for k, v in g.items() if k != "params"} for g in optimizer.param_groups]
    blob = torch.load(ckpt / "optimizer.pt", map_location="cpu", weights_only=True)
    optimizer.load_state_dict(blob["optimizer"])
    if keep_hyperparameters:
        for group, hp in zip(optimizer.param_groups, current):
            group.update(hp)
    state = json.loads((ckpt / "state.json").read_text(encoding="utf-8"))
    state.pop("files", None)
    py = state.pop("python_rng")
    random.setstate((py[0], tuple(py[1]), py[2]))
    torch.set_rng_state(blob["torch_rng"])
    if blob.get("cuda_rng") and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(blob["cuda_rng"])
    return state
