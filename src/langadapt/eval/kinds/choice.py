"""Multiple choice by log-likelihood (`langadapt.eval.mc`): accuracy per model, by character-normalised
and by total log-likelihood.

Its tasks (`langadapt.eval.tasks`): `poem-next-line-mc`, `poem-author-mc` and task files of
`{question, choices, answer}` records (or the `{question, A, B, C, D, answer}` exam layout).
"""

from __future__ import annotations

from typing import Any

from langadapt.eval.kinds.base import TaskKind
from langadapt.eval.markdown import bars, fmt, table
from langadapt.eval.mc import score_multiple_choice


class MultipleChoice(TaskKind):
    name = "multiple_choice"
    plotted = True

    def score(self, model, tokenizer, task, cfg, progress=False) -> dict[str, Any]:
        result = score_multiple_choice(model, tokenizer, task.items, few_shot=cfg.few_shot, batch_size=cfg.batch_size,
                                       max_length=cfg.window)
        return {"scores": {k: result[k] for k in ("accuracy", "accuracy_raw", "n")}, "examples": result["predictions"]}

    def report(self, name: str, entry: dict[str, Any], labels: list[str]) -> list[str]:
        rows = [[title] + [fmt(entry["scores"].get(label, {}).get(key), 1) for label in labels]
                for key, title in (("accuracy", "accuracy % (log-likelihood per character)"),
                                   ("accuracy_raw", "accuracy % (total log-likelihood)"))]
        rows.append(["questions"] + [fmt(entry["scores"].get(label, {}).get("n")) for label in labels])
        return [f"### {name}: multiple choice", "", table(["metric", *labels], rows), ""]

    def headline(self, scores: dict[str, Any]) -> dict[str, float]:
        return {k: round(scores[k], 3) for k in ("accuracy", "accuracy_raw")}

    def plot(self, ax, name, entry, labels) -> None:
        vals = {l: [entry["scores"].get(l, {}).get("accuracy", float("nan"))] for l in labels}
        bars(ax, ["accuracy"], labels, vals, f"{name}: accuracy", "%")
