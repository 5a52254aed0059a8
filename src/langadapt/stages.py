"""The contract between the orchestrator and each stage.

A stage is a plain function `run(ctx: StageContext) -> StageResult`, registered below by
dotted path so importing langadapt stays light. The orchestrator gives it the recipe, its own
output folder and the outputs of the stages before it; the stage returns its artifacts
(absolute paths) and its key metrics, which land in its manifest and from there in the
report and the model card.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from langadapt.config.recipe import Recipe
from langadapt.errors import UserError
from langadapt.rundir import RunDir

# stage -> "module:function"
STAGE_FUNCTIONS: dict[str, str] = {
    "clean": "langadapt.corpus.stage:run",
    "tokenizer": "langadapt.tokenizer.stage:run",
    "pretrain": "langadapt.train.stage:run_pretrain",
    "sft": "langadapt.train.stage:run_sft",
    "eval": "langadapt.eval.stage:run",
    "export": "langadapt.export.stage:run",
}

# Artifacts each stage promises in StageResult.outputs (documented contract):
#   clean:     corpus (folder of cleaned shards), heldout (JSONL of held-out documents), stats (stats.json)
#   tokenizer: model (folder: resized model + extended tokenizer), report (JSON)
#   pretrain:  model (folder: full weights, adapters merged), adapter (folder, LoRA methods only), metrics (JSONL)
#   sft:       model, adapter, metrics (as pretrain)
#   eval:      results (results.json), table (results.md)
#   export:    export (folder of the standalone model with README.md card)


class StageNotBuilt(UserError):
    """The stage exists in the recipe model but has no implementation in this version."""


@dataclass
class StageContext:
    recipe: Recipe
    out_dir: Path
    run_dir: RunDir
    artifacts: dict[str, str] = field(default_factory=dict)
    """Outputs of earlier stages as `stage.artifact` -> path, e.g. `clean.corpus`, `tokenizer.model`."""

    def artifact(self, key: str, default: str | None = None) -> str | None:
        return self.artifacts.get(key, default)

    def latest_model(self, before: str | None = None) -> str:
        """The newest model produced before `before` (or overall), falling back to the base model."""
        from langadapt.config.recipe import STAGES

        order = [s for s in ("sft", "pretrain", "tokenizer") if before is None or STAGES.index(s) < STAGES.index(before)]
        for stage in order:
            if f"{stage}.model" in self.artifacts:
                return self.artifacts[f"{stage}.model"]
        return self.recipe.base_model

    def models_for_comparison(self) -> dict[str, str]:
        """`base` plus every stage model, in pipeline order."""
        found = {"base": self.recipe.base_model}
        for stage in ("tokenizer", "pretrain", "sft"):
            if f"{stage}.model" in self.artifacts:
                found[stage] = self.artifacts[f"{stage}.model"]
        return found


@dataclass
class StageResult:
    outputs: dict[str, str]
    metrics: dict[str, Any] = field(default_factory=dict)


def stage_function(stage: str) -> Callable[[StageContext], StageResult]:
    target = STAGE_FUNCTIONS[stage]
    module_name, func_name = target.split(":")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        # Only a missing stage module means "not built"; a missing dependency inside it is a real error.
        if exc.name and module_name.startswith(exc.name):
            raise StageNotBuilt(f"stage {stage!r} is not built in this version of langadapt") from None
        raise
    return getattr(module, func_name)
