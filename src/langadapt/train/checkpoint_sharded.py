"""Checkpoints of sharded runs (FSDP, DeepSpeed) through accelerate's `save_state` / `load_state`.

    accelerate launch --config_file configs/accelerate/fsdp.yaml -m langadapt pretrain ... --save-every 500
    save(accelerator, out_dir / "checkpoints", step, state, keep=2)    # every process calls it
    if is_sharded(ckpt): state = restore(accelerator, ckpt)            # every process calls it

Why a second format: under FSDP and DeepSpeed no process holds the whole model or optimiser, so
the single-process/DDP format (trainable weights in safetensors, written by the main process;
langadapt.train.checkpoint) cannot be written without gathering everything onto one process.
Here every process writes its own shards with accelerate (FSDP: torch.distributed.checkpoint with
a sharded state dict, whatever state dict the final export uses; DeepSpeed: the engine's own
files), plus each process's RNG states. The folder is then finished like the exact format: written
under `.step-N.tmp-sharded`, a `state.json` with every file's size and xxh3 checksum, everything
fsynced, renamed into place by the main process. So `checkpoint.latest()`, `prune()`,
`check_resume()` and the damaged-checkpoint fallback work on both formats unchanged; `state.json`
says which one a folder is (`"format": "accelerate"`).

These folders hold files that torch's and DeepSpeed's loaders unpickle (distributed-checkpoint
metadata, DeepSpeed's optimizer shards): resume only from checkpoints your own runs wrote.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from langadapt.atomic import fsync_dir, fsync_tree
from langadapt.errors import UserError
from langadapt.train import checkpoint as ckpt

log = logging.getLogger(__name__)

FORMAT = "accelerate"
# Writes this format for any launch (DDP, one process too) when set to "accelerate": how it is tested
# on machines where accelerate cannot shard (it runs FSDP on GPUs only; a CPU launch falls back to DDP).
FORMAT_ENV = "LANGADAPT_CHECKPOINT_FORMAT"


def wanted(accelerator) -> bool:
    """Whether this run checkpoints through accelerate (FSDP, DeepSpeed) rather than the exact format."""
    if accelerator.distributed_type.name in ("FSDP", "DEEPSPEED"):
        return True
    if os.environ.get("ACCELERATE_USE_FSDP", "").lower() == "true" and accelerator.is_main_process:
        log.warning("the accelerate config asks for FSDP but accelerate shards on GPUs only: this launch trains "
                    "with plain data parallel (%s) and writes single-process/DDP checkpoints",
                    accelerator.distributed_type.name)
    return os.environ.get(FORMAT_ENV, "") == FORMAT


def is_sharded(path: Path) -> bool:
    try:
        return json.loads((Path(path) / "state.json").read_text(encoding="utf-8")).get("format") == FORMAT
    except (OSError, ValueError):
        return False


@contextmanager
def _sharded_state_dict(accelerator):
    """Under FSDP, save and load shards per process even when the final export asks for a full state dict."""
    plugin = getattr(accelerator.state, "fsdp_plugin", None)
    if plugin is None:
        yield
        return
    saved = (plugin.state_dict_type, plugin.state_dict_config, plugin.optim_state_dict_config)
    plugin.state_dict_config = plugin.optim_state_dict_config = None
    plugin.set_state_dict_type("SHARDED_STATE_DICT")
    try:
        yield
    finally:
        plugin.state_dict_type, plugin.state_dict_config, plugin.optim_state_dict_config = saved


def save(accelerator, root: Path, step: int, state: dict[str, Any], keep: int) -> Path:
    """Write checkpoint `step` from every process; returns its final folder."""
    root = Path(root)
    target = root / f"step-{step:08d}"
    tmp = root / f".step-{step:08d}.tmp-sharded"
    if accelerator.is_main_process:
        ckpt.prune_leftovers(root)
        root.mkdir(parents=True, exist_ok=True)
    accelerator.wait_for_everyone()
    with _sharded_state_dict(accelerator):
        accelerator.save_state(str(tmp), safe_serialization=True)
    if os.environ.get(ckpt.PAUSE_ENV):
        import time

        time.sleep(float(os.environ[ckpt.PAUSE_ENV]))
    accelerator.wait_for_everyone()
    if accelerator.is_main_process:
        files = {str(p.relative_to(tmp)): {"bytes": p.stat().st_size, "xxh3": ckpt.file_digest(p)}
                 for p in sorted(tmp.rglob("*")) if p.is_file()}
        (tmp / "state.json").write_text(json.dumps({**state, "step": step, "format": FORMAT, "files": files}),
                                        encoding="utf-8")
        fsync_tree(tmp)
        if target.exists():
            shutil.rmtree(target)
        os.replace(tmp, target)
        fsync_dir(root)
        ckpt.prune(root, keep)
    accelerator.wait_for_everyone()
    return target


def check_format(path: Path, sharded: bool) -> None:
    """Refuse, before the model loads, a checkpoint written by the other kind of launch."""
    if is_sharded(path) and not sharded:
        raise UserError(f"{path} was written by a sharded run (FSDP/DeepSpeed) and this run is not: resume it "
                        "with the accelerate config it was written with, or start a new --out")
    if sharded and not is_sharded(path):
        raise UserError(f"{path} is a single-process/DDP checkpoint and this run is sharded (FSDP/DeepSpeed): "
                        "resume it with the launch it was written with, or start a new --out")


def restore(accelerator, path: Path, optimizer, keep_hyperparameters: bool = False) -> dict[str, Any]:
    """Load a sharded checkpoint on every process; returns the training state saved with it."""
    path = Path(path)
    check_format(path, sharded=True)
    current = [{k: v for k, v in g.items() if k != "params"} for g in optimizer.param_groups]
    with _sharded_state_dict(accelerator):
        accelerator.load_state(str(path))
    if keep_hyperparameters:
        for group, hp in zip(optimizer.param_groups, current):
            group.update(hp)
    state = json.loads((path / "state.json").read_text(encoding="utf-8"))
    for key in ("files", "format"):
        state.pop(key, None)
    return state
