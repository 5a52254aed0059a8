"""The `tokenizer` stage: extend the base tokenizer on the cleaned corpus, resize the model, report.

Use: `langadapt run recipe.yaml` (orchestrated); `langadapt tokenizer extend ...` runs the same code.
Outputs: model (folder: resized model + extended tokenizer + langadapt_extension.json), report
(report.json, with report.md beside it), chart (tokens per character, PNG).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from langadapt.errors import UserError


def run(ctx: Any) -> Any:
    from langadapt.stages import StageResult
    from langadapt.tokenizer.assess import assess_extension
    from langadapt.tokenizer.extend import extend_model
    from langadapt.tokenizer.texts import texts_by_language

    recipe = ctx.recipe
    cfg = recipe.tokenizer
    corpus = ctx.artifact("clean.corpus")
    if not corpus or not Path(corpus).exists():
        raise UserError("the tokenizer stage needs the cleaned corpus (clean.corpus); run the clean stage first")
    start = time.perf_counter()
    out_dir = Path(ctx.out_dir)
    model_dir = out_dir / "model"
    extension, info = extend_model(recipe.base_model, [corpus], cfg, model_dir)

    heldout_path = ctx.artifact("clean.heldout")
    default_lang = recipe.languages[0] if recipe.languages else "target"
    heldout: dict[str, list[str]] = {}
    if heldout_path and Path(heldout_path).exists():
        heldout = texts_by_language([heldout_path], default=default_lang, max_chars=max(cfg.report_chars, 50_000))
    outputs, metrics = assess_extension(recipe.base_model, model_dir, heldout, cfg, out_dir, extension=extension)
    metrics["learn_seconds"] = round(extension.seconds, 2)
    metrics["wall_seconds"] = round(time.perf_counter() - start, 2)
    metrics["corpus_chars"] = extension.stats.get("corpus_chars")
    return StageResult(outputs={"model": str(model_dir.resolve()), "report": outputs["report"],
                                "chart": outputs["chart"], "markdown": outputs["markdown"]}, metrics=metrics)
