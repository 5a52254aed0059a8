"""The `tokenizer` stage: extend the base tokenizer on the cleaned corpus, resize the model, report.

Use: `langadapt run recipe.yaml` (orchestrated), or `langadapt tokenizer extend ...`, which builds a
recipe and a StageContext from its flags and calls this same `run`: its `--model`, `--corpus`,
`--heldout LANG=PATH` and `--tokenizer-only` are the context's `model`, `corpus`, `heldout` and
`tokenizer_only`, standing in for the recipe's base model and the clean stage's corpus and held-out set.
Outputs: model (folder: resized model + extended tokenizer + langadapt_extension.json), report
(report.json, with report.md beside it), chart (tokens per character, PNG). A base without weights
(a vocabulary-only GGUF) gets the tokenizer alone: no model is built, and the report has no bits/char.
"""

from __future__ import annotations

import time
from pathlib import Path

from langadapt.config.tokenizer import TokenizerConfig
from langadapt.errors import UserError
from langadapt.results import TokenizerMetrics
from langadapt.stages import StageContext, StageResult, stage
from langadapt.tokenizer.assess import assess_extension
from langadapt.tokenizer.by_source import assess_by_source, heldout_by_source
from langadapt.tokenizer.texts import iter_texts, texts_by_language
from langadapt.tokenizer.tokenizer_only import extend, report_tokens


def _corpus(ctx: StageContext) -> list[str]:
    if ctx.corpus:
        return [str(p) for p in ctx.corpus]  # a missing one is named when it is read
    corpus = ctx.artifact("clean.corpus")
    if not corpus or not Path(corpus).exists():
        raise UserError("the tokenizer stage needs the cleaned corpus (clean.corpus); run the clean stage first")
    return [corpus]


def _heldout(ctx: StageContext, cfg: TokenizerConfig) -> tuple[dict[str, list[str]], str | None]:
    """Held-out texts per language, and the clean stage's held-out file they came from (None: given by hand)."""
    max_chars = max(cfg.report_chars, 50_000)
    if ctx.heldout is not None:
        return {lang: list(iter_texts(paths, max_chars=max_chars)) for lang, paths in ctx.heldout.items()}, None
    path = ctx.artifact("clean.heldout")
    if not path or not Path(path).exists():
        return {}, path
    default_lang = ctx.recipe.languages[0] if ctx.recipe.languages else "target"
    return texts_by_language([path], default=default_lang, max_chars=max_chars), path


def run(ctx: StageContext) -> StageResult:
    recipe = ctx.recipe
    base = ctx.model or recipe.base_model
    cfg = recipe.tokenizer
    if derived := stage("tokenizer").derived(recipe):  # the fingerprint covers the same derived values
        cfg = cfg.model_copy(update=derived)
    corpus = _corpus(ctx)
    start = time.perf_counter()
    out_dir = Path(ctx.out_dir)
    model_dir = out_dir / "model"
    extension, info, tokenizer_only = extend(base, corpus, cfg, model_dir, tokenizer_only=ctx.tokenizer_only,
                                             progress=ctx.progress)

    heldout, heldout_path = _heldout(ctx, cfg)
    if tokenizer_only:
        outputs, metrics = report_tokens(base, model_dir, heldout, out_dir, info)
    else:
        outputs, metrics = assess_extension(base, model_dir, heldout, cfg, out_dir, extension=extension)
    # the same figures per held-out source corpus (poems vs each prose source), sampled evenly
    metrics.update(assess_by_source(base, model_dir, heldout_by_source(heldout_path, cfg.report_chars or 50_000),
                                    score=bool(cfg.report_chars) and not tokenizer_only))
    metrics["learn_seconds"] = round(extension.seconds, 2)
    metrics["wall_seconds"] = round(time.perf_counter() - start, 2)
    metrics["corpus_chars"] = extension.stats.get("corpus_chars")
    return StageResult(outputs={"model": str(model_dir.resolve()), "report": outputs["report"],
                                "chart": outputs["chart"], "markdown": outputs["markdown"]},
                       metrics=TokenizerMetrics.from_stage(metrics))
