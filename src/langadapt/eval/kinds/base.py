"""What an evaluation task kind is: how its tasks are scored on a model and how their results read.

    class ExactMatch(TaskKind):
        name = "exact_match"
        tasks = {"my-exact": build_my_exact}          # task name -> TaskOptions -> Task(kind="exact_match")
        def score(self, model, tokenizer, task, cfg, progress=False):
            return {"scores": {"accuracy": ...}}       # optional "examples": [...]
        def report(self, name, entry, labels):
            return [f"### {name}: exact match", "", table(...), ""]

    kinds.register(ExactMatch())   # `eval.tasks: [my-exact]` is then valid, scored and reported

A kind sees one model at a time in `score`; the runner gathers every model's `scores` into the task's
entry of results.json (`{kind, source, scores: {label: ...}, examples, seconds}`), `report` turns
that entry into its results.md lines, `headline` into the figures the manifest and model card keep
(`EvalMetrics.tasks`), and `plot` into a results.png panel. The entry records the kind by name, so a
results.json is rendered by the kind registered under that name. Kept apart from the registry
(`langadapt.eval.kinds`) so the kind modules can import it while the registry imports them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable, ClassVar, Mapping

from langadapt.errors import UserError

if TYPE_CHECKING:
    from langadapt.config.evaluation import EvalConfig
    from langadapt.eval.tasks import Task, TaskOptions

TaskBuilder = Callable[["TaskOptions"], "Task"]


class TaskKind:
    name: ClassVar[str]
    tasks: Mapping[str, TaskBuilder] = {}
    """Named tasks of this kind, registered with it: what `eval.tasks` accepts besides task files."""
    plotted: ClassVar[bool] = False
    """Has a results.png panel (`plot`)."""
    bits_per_char: ClassVar[bool] = False
    """Scores are {language or source: bits-per-character figures}: the manifest's `bpc` tables read them."""

    def score(self, model: Any, tokenizer: Any, task: Task, cfg: EvalConfig, progress: bool = False) -> dict[str, Any]:
        """One model on one task: {"scores": ..., optionally "examples": [...]}."""
        raise UserError(f"task kind {self.name!r} is not scored by langadapt's own evaluation")

    def entry_notes(self, task: Task) -> dict[str, Any]:
        """Extra keys of the task's results.json entry (a caveat shown beside the scores)."""
        return {}

    def report(self, name: str, entry: dict[str, Any], labels: list[str]) -> list[str]:
        """The task's results.md lines, models side by side in `labels` order."""
        return []

    def headline(self, scores: dict[str, Any]) -> dict[str, float]:
        """One model's figures for the manifest and model card (`EvalMetrics.tasks[task][label]`)."""
        return dict(scores)

    def plot(self, ax: Any, name: str, entry: dict[str, Any], labels: list[str]) -> None:
        """Draw the task's results.png panel on `ax` (kinds with `plotted = True`)."""
