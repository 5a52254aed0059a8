"""The pipeline's export stage: `langadapt run recipe.yaml` ends here.

Takes the newest trained model; when it came from a LoRA stage, the merge is redone from that
stage's base and adapter so it can be checked against base+adapter, then writes the model card
from every manifest of the run.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from langadapt.export.build import ExportJob, run_export
from langadapt.results import ExportMetrics
from langadapt.stages import StageContext, StageResult, stage_metrics

CHANGELOG_STORE = "export-changelog.json"


def chosen_stages(ctx: StageContext) -> tuple[list[str], str]:
    """Training stages to export from, most preferred first, and why (export.source)."""
    choice = ctx.recipe.export.source
    if choice != "auto":
        return [choice], f"export.source: {choice}"
    sft = stage_metrics(ctx.run_dir.manifests(), "sft")
    start, end = (sft.eval_loss_start, sft.eval_loss) if sft else (None, None)
    if "sft.model" in ctx.artifacts and start is not None and end is not None and end >= start:
        return ["pretrain"], (f"SFT did not lower its validation loss ({start:.4f} -> {end:.4f}): "
                              "exporting the model before it")
    return ["sft", "pretrain"], "the last training stage"


@dataclass(frozen=True)
class ExportChoice:
    """What the export stage ships: the model (a LoRA stage's base when `adapter` is set), the
    training stage it comes from, and why that stage."""
    model: str
    adapter: str | None
    stage: str | None
    reason: str


def export_choice(ctx: StageContext) -> ExportChoice:
    """The chosen training stage's base and adapter, or its full weights (export.source)."""
    stages, reason = chosen_stages(ctx)
    for stage in stages:
        if f"{stage}.model" not in ctx.artifacts:
            continue
        adapter = ctx.artifact(f"{stage}.adapter")
        if adapter and (Path(adapter) / "adapter_config.json").is_file():
            return ExportChoice(ctx.latest_model(before=stage), adapter, stage, reason)
        return ExportChoice(ctx.artifacts[f"{stage}.model"], None, stage, reason)
    return ExportChoice(ctx.latest_model(), None, None, reason)


def heldout_texts(path: str | None, limit: int) -> list[str]:
    if not path or not Path(path).is_file():
        return []
    texts = []
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            try:
                text = json.loads(line).get("text")
            except (json.JSONDecodeError, AttributeError):
                continue
            if isinstance(text, str) and text.strip():
                texts.append(text)
            if len(texts) >= limit:
                break
    return texts


def export(job: ExportJob, source_reason: str = "", source_stage: str | None = None) -> tuple[StageResult, dict]:
    """Merge, verify, write the card (and the GGUF file when asked): the one export path of
    `langadapt run` (through `run`) and `langadapt export` (which may have no recipe or run folder,
    so it builds the ExportJob from its flags and calls this). Returns the result and the export record."""
    cfg = job.config
    done = run_export(job)
    record = done["record"]
    outputs = {"export": str(job.out), "card": str(done["card"])}
    gguf = done["gguf"]
    if gguf is not None:
        outputs["gguf"] = str(gguf.path)
    info = record.get("info") or {}
    metrics = {
        "source_reason": source_reason,
        "source_stage": source_stage,
        "version": record["version"],
        "dtype": cfg.dtype if cfg.merge else None,
        "merged": record["merged"],
        "format": record.get("format"),
        "weights_bytes": info.get("weights_bytes"),
        "num_parameters": info.get("num_parameters"),
        "vocab_size": info.get("vocab_size"),
        "source_model": job.model,
        "adapter": job.adapter,
    }
    for what, result in (record.get("verification") or {}).items():
        metrics[f"verify_{what}_relative_diff"] = result["relative_diff"]
        metrics[f"verify_{what}_top1_agreement"] = result["top1_agreement"]
    if record.get("energy"):
        metrics["energy_kwh"] = record["energy"]["energy_kwh"]
        if "co2_kg" in record["energy"]:
            metrics["co2_kg"] = record["energy"]["co2_kg"]
    if record.get("hub_url"):
        metrics["hub_url"] = record["hub_url"]
    if "gguf" in outputs:
        metrics.update(gguf_type=gguf.gguf_type, gguf_bytes=gguf.bytes, gguf_pre_tokenizer=gguf.pre_tokenizer,
                       gguf_verify_relative_diff=gguf.verification.get("max_relative_diff"))
    return StageResult(outputs=outputs, metrics=ExportMetrics.from_stage(metrics)), record


def run(ctx: StageContext) -> StageResult:
    cfg = ctx.recipe.export
    choice = export_choice(ctx)
    job = ExportJob(out=ctx.out_dir / "model", model=choice.model, adapter=choice.adapter, config=cfg, recipe=ctx.recipe,
                    manifests=ctx.run_dir.manifests(), heldout=heldout_texts(ctx.artifact("clean.heldout"), cfg.verify_texts),
                    changelog_store=ctx.run_dir.root / CHANGELOG_STORE)
    return export(job, choice.reason, choice.stage)[0]
