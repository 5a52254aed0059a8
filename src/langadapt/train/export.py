"""Stage outputs after training: the adapter (PEFT methods) and a full model folder with adapters merged.

The merged folder is the next stage's input and what vLLM or llama.cpp can serve; it keeps the
tokenizer and the extension record (EXTENSION_FILE) of the input model so later stages know the new rows.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from langadapt.atomic import atomic_dir
from langadapt.models.extension import EXTENSION_FILE
from langadapt.models.gguf import save_plain
from langadapt.models.resolve import resolve_model


def save_outputs(accelerator, model, loaded, out_dir: Path) -> dict[str, str]:
    out_dir = Path(out_dir)
    outputs: dict[str, str] = {}
    raw = accelerator.unwrap_model(model)
    source = Path(resolve_model(loaded.base_ref).path)
    state = accelerator.get_state_dict(model) if accelerator.distributed_type.name in ("FSDP", "DEEPSPEED") else None
    if loaded.method.peft:
        with atomic_dir(out_dir / "adapter") as tmp:
            raw.save_pretrained(tmp, state_dict=state) if state is not None else raw.save_pretrained(tmp)
            loaded.tokenizer.save_pretrained(tmp)
        outputs["adapter"] = str((out_dir / "adapter").resolve())
        merged = loaded.method.merge(raw, out_dir / "adapter")
    else:
        merged = raw
        if state is not None:
            merged.load_state_dict(state)
    # training switched the KV cache off (loading.py); a saved model must generate with it
    merged.config.use_cache = True
    with atomic_dir(out_dir / "model") as tmp:
        save_plain(merged, tmp)
        loaded.tokenizer.save_pretrained(tmp)
        if (source / EXTENSION_FILE).is_file():
            shutil.copy(source / EXTENSION_FILE, tmp / EXTENSION_FILE)
    outputs["model"] = str((out_dir / "model").resolve())
    return outputs
