"""Markdown and chart pieces the task kinds draw their results.md sections and results.png panels with.

Shared so every kind's tables look alike: `fmt` prints a missing or NaN value as `-`, `table` right-
aligns the value columns, `bars` draws one grouped bar panel per task.
"""

from __future__ import annotations

import math
from typing import Any

NOT_COMPARABLE = "not comparable across tokenizers"


def fmt(value: Any, digits: int = 3) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(["---"] + ["---:"] * (len(header) - 1)) + "|"]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(lines)


def group_label(entry: dict[str, Any], key: str) -> str:
    """A per-source row names its language too: `tang-poems (zh-Hant)`."""
    lang = (entry.get("groups") or {}).get(key)
    return f"{key} ({lang})" if lang and lang != key else key


def bars(ax: Any, groups: list[str], labels: list[str], values: dict[str, list[float]], title: str, ylabel: str) -> None:
    width = 0.8 / max(1, len(labels))
    for i, label in enumerate(labels):
        xs = [g + (i - (len(labels) - 1) / 2) * width for g in range(len(groups))]
        drawn = ax.bar(xs, values[label], width, label=label)
        ax.bar_label(drawn, fmt="%.2f", fontsize=7, padding=1)
    ax.set_xticks(range(len(groups)))
    ax.set_xticklabels(groups, rotation=20 if max((len(g) for g in groups), default=0) > 8 else 0)
    ax.set_title(title)
    ax.set_ylabel(ylabel)
    ax.legend(fontsize=8)
