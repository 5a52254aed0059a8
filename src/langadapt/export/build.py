"""Export + change log + model card (+ optional Hub upload) in one call, for the CLI and the pipeline stage.

    from langadapt.export.build import ExportJob, run_export
    run_export(ExportJob(out=Path("out"), model="runs/demo/tokenizer/model", adapter="runs/demo/pretrain/adapter",
                         config=ExportConfig(dtype="bf16"), recipe=recipe, manifests=RunDir("runs/demo").manifests()))
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from langadapt.atomic import write_json, write_text
from langadapt.config.export import ExportConfig
from langadapt.export import card as cards
from langadapt.export import changelog
from langadapt.export.api import export_model
from langadapt.export.card_eval import training_hours
from langadapt.export.energy import estimate
from langadapt.export.gguf import export_gguf
from langadapt.export.hub import push
from langadapt.export.license import base_license
from langadapt.export.merge import base_model_id
from langadapt.models.extension import read_extension
from langadapt.models.resolve import resolve_model
from langadapt.outdir import mark_output


@dataclass
class ExportJob:
    out: Path
    model: str | None = None
    adapter: str | None = None
    config: ExportConfig = field(default_factory=ExportConfig)
    recipe: Any | None = None
    manifests: dict = field(default_factory=dict)
    heldout: list[str] = field(default_factory=list)
    changelog_store: Path | None = None
    """Where the change log outlives re-exports (the export folder itself is replaced each time)."""
    name: str | None = None


def original_base(ref: str) -> str:
    """Follow tokenizer-stage folders (their extension record) back to the model the run started from."""
    seen = set()
    while ref not in seen:
        seen.add(ref)
        ext = read_extension(ref)
        if not ext:
            break
        parent = ext.get("base_model")
        if not parent:
            break
        ref = str(parent)
    return ref


def _generation_shown(recipe: Any) -> dict:
    if recipe is None:
        return {}
    kwargs = recipe.generation.to_hf_kwargs()
    return {k: v for k, v in kwargs.items() if not (k == "repetition_penalty" and v == 1.0)}


def run_export(job: ExportJob, log: Any = print) -> dict:
    cfg, recipe = job.config, job.recipe
    store = job.changelog_store or job.out / changelog.FILENAME
    previous = changelog.load(store) or changelog.load(job.out / changelog.FILENAME)
    result = export_model(job.out, job.model, job.adapter, merge=cfg.merge, dtype=cfg.dtype,
                          max_shard_size=cfg.max_shard_size, verify=cfg.verify,
                          generation=recipe.generation if recipe is not None else None,
                          heldout=job.heldout[: cfg.verify_texts], log=log)
    mark_output(job.out, "export")
    export = {"merged": result.merged, "dtype": cfg.dtype, "format": result.info.get("format"),
              "info": result.info, "verification": result.verification}
    gguf = None
    if cfg.format == "gguf":  # before the card and any push, so the card names the file and the push carries it
        gguf = export_gguf(job.out, cfg.gguf_type, pre=cfg.gguf_pre, verify=cfg.verify,
                           texts=job.heldout[: cfg.verify_texts], log=log)
        export["gguf"] = {**gguf.as_dict(), "path": gguf.path.name}

    base_ref = recipe.base_model if recipe is not None else original_base(result.base.ref)
    try:
        base_id = base_model_id(resolve_model(base_ref))
    except Exception:  # an unresolvable base still gets a card; it is named as given
        base_id = None
    languages = list(recipe.languages) if recipe is not None else []
    entries = changelog.record(previous, cfg.version,
                               cfg.notes or cards.summary(job.manifests, languages, export))
    changelog.save(job.out / changelog.FILENAME, entries)
    if store != job.out / changelog.FILENAME:
        changelog.save(store, entries)

    hours, hardware = training_hours(job.manifests)
    energy = estimate(hours, hardware, cfg.grid_intensity, cfg.tdp_watts)
    name = job.name or (recipe.name if recipe is not None else job.out.name)
    inputs = cards.CardInputs(
        name=name, base_model=base_ref, base_model_id=base_id, manifests=job.manifests, folder=job.out,
        description=recipe.description if recipe is not None else "",
        license=cfg.license or base_license(base_ref),
        languages=languages, base_language=recipe.base_language if recipe is not None else "",
        corpora=list(recipe.corpora) if recipe is not None else [],
        export=export, changelog=entries, images=cards.copy_images(job.manifests, job.out),
        repo_id=cfg.push_to_hub, energy=energy, generation=_generation_shown(recipe),
    )
    card_path = job.out / "README.md"
    write_text(card_path, cards.render(inputs))
    record = {"version": entries[0]["version"], "base_model": base_ref, "source_model": result.base.ref,
              "adapter": str(result.adapter) if result.adapter else None, "energy": energy, **export,
              "seconds": round(result.seconds, 2)}
    write_json(job.out / "langadapt_export.json", record)
    if cfg.push_to_hub:
        record["hub_url"] = push(job.out, cfg.push_to_hub, version=entries[0]["version"], private=cfg.private, log=log)
    return {"folder": job.out, "card": card_path, "record": record, "gguf": gguf}
