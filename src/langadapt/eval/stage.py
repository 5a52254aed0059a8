"""The eval stage of `langadapt run`: every model of the run side by side on the recipe's tasks.

    langadapt run recipe.yaml          # eval runs after the training stages
    langadapt eval --recipe recipe.yaml --model ...   # the same tasks by hand

Models: the base and each stage model listed in `eval.compare` that the run produced. The clean
stage's held-out documents (never trained on: they are split off by a hash of their text before
any training stage reads the corpus) are scored as `heldout-bpc` beside the recipe's tasks, each
source corpus on its own (`eval.max_chars` characters sampled evenly from each): metrics
`heldout_bpc_by_source` {model: {source: bits/char}}, `heldout_sources` {source: {language,
characters}}, and `heldout_bpc` {model: {language: mean over that language's sources}}.
"""

from __future__ import annotations

from langadapt.errors import UserError
from langadapt.eval.lmeval import evaluate_lm_eval
from langadapt.eval.runner import evaluate, summary_metrics
from langadapt.results import EvalMetrics
from langadapt.stages import StageContext, StageResult


def _languages(ctx: StageContext) -> list[str] | None:
    recipe = ctx.recipe
    if recipe.eval.languages or ctx.models is not None:
        return recipe.eval.languages
    return list(dict.fromkeys([*recipe.languages, recipe.base_language]))


def run(ctx: StageContext) -> StageResult:
    """Score the run's models (or, from `langadapt eval`, the models given in `ctx.models`) side by side.

    Models named by hand are scored on exactly the tasks and languages asked for; the pipeline adds
    heldout-bpc when the clean stage left held-out documents, and skips UDHR languages it has no text for."""
    cfg = ctx.recipe.eval
    by_hand = ctx.models is not None
    if by_hand:
        models = dict(ctx.models)
    else:
        models = {label: ref for label, ref in ctx.models_for_comparison().items() if label in cfg.compare}
        if not models:
            raise UserError(f"eval.compare {cfg.compare} names none of the run's models {list(ctx.models_for_comparison())}")
    cfg = cfg.model_copy(update={"languages": _languages(ctx)})
    if cfg.backend == "lm-eval":
        results = evaluate_lm_eval(models, cfg, out_dir=ctx.out_dir)
    else:
        heldout = ctx.artifact("clean.heldout")
        tasks = list(cfg.tasks)
        if heldout and "heldout-bpc" not in tasks and not by_hand:
            tasks.insert(0, "heldout-bpc")
        results = evaluate(models, tasks, cfg, out_dir=ctx.out_dir, heldout=heldout, skip_missing_languages=not by_hand)
    metrics = summary_metrics(results)
    metrics["models"] = dict(models)
    return StageResult(outputs=dict(results["files"]), metrics=EvalMetrics.from_stage(metrics))
