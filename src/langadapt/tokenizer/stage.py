"""The `tokenizer` stage: extend the base tokenizer on the cleaned corpus, resize the model, report.

Use: `langadapt run recipe.yaml` (orchestrated); `langadapt tokenizer extend ...` runs the same code.
Outputs: model (folder: resized model + extended tokenizer + langadapt_extension.json), report
(report.json, with report.md beside it), chart (tokens per character, PNG). A base without weights
(a vocabulary-only GGUF) gets the tokenizer alone: no model is built, and the report has no bits/char.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

from langadapt.errors import UserError

log = logging.getLogger(__name__)


def run(ctx: Any) -> Any:
    from langadapt.results import TokenizerMetrics
    from langadapt.stages import StageResult
    from langadapt.tokenizer.assess import assess_extension
    from langadapt.tokenizer.texts import texts_by_language
    from langadapt.tokenizer.tokenizer_only import extend, report_tokens

    recipe = ctx.recipe
    cfg = recipe.tokenizer
    if cfg.new_tokens == "auto" and not cfg.auto_training_tokens:
        from langadapt.tokenizer.vocab_size import planned_training_tokens

        planned = planned_training_tokens(recipe.pretrain)
        if planned:
            cfg = cfg.model_copy(update={"auto_training_tokens": planned})
    corpus = ctx.artifact("clean.corpus")
    if not corpus or not Path(corpus).exists():
        raise UserError("the tokenizer stage needs the cleaned corpus (clean.corpus); run the clean stage first")
    start = time.perf_counter()
    out_dir = Path(ctx.out_dir)
    model_dir = out_dir / "model"
    extension, info, tokenizer_only = extend(recipe.base_model, [corpus], cfg, model_dir, say=log.warning)

    heldout_path = ctx.artifact("clean.heldout")
    default_lang = recipe.languages[0] if recipe.languages else "target"
    heldout: dict[str, list[str]] = {}
    if heldout_path and Path(heldout_path).exists():
        heldout = texts_by_language([heldout_path], default=default_lang, max_chars=max(cfg.report_chars, 50_000))
    if tokenizer_only:
        outputs, metrics = report_tokens(recipe.base_model, model_dir, heldout, out_dir, info)
    else:
        outputs, metrics = assess_extension(recipe.base_model, model_dir, heldout, cfg, out_dir, extension=extension)
    from langadapt.tokenizer.by_source import assess_by_source, heldout_by_source

    # the same figures per held-out source corpus (poems vs each prose source), sampled evenly
    metrics.update(assess_by_source(recipe.base_model, model_dir, heldout_by_source(heldout_path, cfg.report_chars or 50_000),
                                    score=bool(cfg.report_chars) and not tokenizer_only))
    metrics["learn_seconds"] = round(extension.seconds, 2)
    metrics["wall_seconds"] = round(time.perf_counter() - start, 2)
    metrics["corpus_chars"] = extension.stats.get("corpus_chars")
    return StageResult(outputs={"model": str(model_dir.resolve()), "report": outputs["report"],
                                "chart": outputs["chart"], "markdown": outputs["markdown"]},
                       metrics=TokenizerMetrics.from_stage(metrics))
