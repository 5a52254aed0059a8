"""Tasks run by lm-evaluation-harness (`eval.backend: lm-eval`): scored there, only reported here.

The harness returns flat {metric: value} per model (`langadapt.eval.lmeval`); this kind turns them into
one table per task. It has no named tasks of its own: with that backend any harness task name is
accepted, and langadapt's own runner never scores it.
"""

from __future__ import annotations

from typing import Any

from langadapt.eval.kinds.base import TaskKind
from langadapt.eval.markdown import fmt, table


class Harness(TaskKind):
    name = "lm-eval"

    def report(self, name: str, entry: dict[str, Any], labels: list[str]) -> list[str]:
        metrics = list(dict.fromkeys(m for label in labels for m in entry["scores"].get(label, {})))
        rows = [[m] + [fmt(entry["scores"].get(label, {}).get(m), 4) for label in labels] for m in metrics]
        return [f"### {name} (lm-evaluation-harness)", "", table(["metric", *labels], rows), ""]
