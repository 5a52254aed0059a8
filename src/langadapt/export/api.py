"""The export as one library call, shared by `langadapt export` and the pipeline's export stage.

    from langadapt.export.api import export_model
    result = export_model("out/", model="runs/demo/tokenizer/model", adapter="runs/demo/pretrain/adapter", dtype="bf16")

Writes the folder atomically: a failed merge or verification leaves any earlier export untouched.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

from langadapt.atomic import atomic_dir
from langadapt.export import merge as merging
from langadapt.export import verify as verifying
from langadapt.models.extension import read_extension


@dataclass
class ExportResult:
    folder: Path
    merged: bool
    base: Any
    adapter: Path | None
    info: dict = field(default_factory=dict)
    verification: dict = field(default_factory=dict)
    seconds: float = 0.0


def new_token_ids(tokenizer: Any, folders: Sequence[Path | str]) -> list[int]:
    """Ids of tokens added to the base vocabulary: from the extension record, else the tokenizer's non-special added tokens."""
    for folder in folders:
        ext = read_extension(folder)
        if ext:
            first, last = ext["new_token_ids"]
            return list(range(first, last))
    return sorted(i for i, tok in tokenizer.added_tokens_decoder.items() if not tok.special)


def export_model(out: str | Path, model: str | None = None, adapter: str | None = None, *, merge: bool = True,
                 dtype: str = "bf16", max_shard_size: str = "5GB", verify: bool = True, generation: Any | None = None,
                 heldout: Sequence[str] = (), log: Any = print) -> ExportResult:
    started = time.time()
    out = Path(out)
    log(f"loading {adapter + ' on ' if adapter else ''}{model or '(base named by the adapter)'}")
    source = merging.load_source(model, adapter)
    folders = [source.base.weights] + ([source.adapter] if source.adapter else [])
    added = new_token_ids(source.tokenizer, [f for f in folders if Path(str(f)).is_dir()])
    texts = verifying.verification_texts(source.tokenizer, heldout, added)
    result = ExportResult(out, merged=False, base=source.base, adapter=source.adapter)

    if not merge:
        if source.adapter is None:
            raise merging.ExportError("adapter-only export (merge off) needs an adapter")
        with atomic_dir(out) as tmp:
            result.info = merging.save_adapter(source.adapter, source.tokenizer, source.base, tmp)
        result.seconds = time.time() - started
        return result

    reference = verifying.reference_logits(source.model, source.tokenizer, texts) if verify else []
    merged = merging.merge(source)
    result.merged = source.adapter is not None
    if verify and result.merged:
        log("checking the merged weights against base+adapter (fp32)")
        result.verification["merge"] = verifying.check(reference, merged, source.tokenizer, texts, "fp32",
                                                       "merged model").as_dict()
    with atomic_dir(out) as tmp:
        log(f"saving {dtype} safetensors to {out}")
        result.info = merging.save_checkpoint(merged, source.tokenizer, tmp, dtype, max_shard_size, generation)
        if verify:
            log("reloading the export with plain transformers and comparing logits")
            result.verification["export"] = verifying.verify_saved(tmp, reference, texts, dtype).as_dict()
    result.info["added_tokens"] = len(added)
    result.seconds = time.time() - started
    return result
