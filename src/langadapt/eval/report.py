"""Side-by-side results: a markdown table per task and one bar chart, plus results.json.

Each task's section and chart panel are drawn by its kind (`langadapt.eval.kinds`); this module
puts them in order and adds the model list and the LLM judge's table.

    from langadapt.eval.report import render_markdown, write_report
    print(render_markdown(results))
    write_report(results, Path("runs/x/eval"))   # results.json, results.md, results.png
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from langadapt.atomic import write_json, write_text
from langadapt.eval import kinds
from langadapt.eval.markdown import fmt as _fmt
from langadapt.eval.markdown import table as _table


def _judge_section(judge: dict[str, Any]) -> list[str]:
    rows = [[pair, _fmt(s["win"]), _fmt(s["tie"]), _fmt(s["loss"]), _fmt(s["n"])]
            for pair, s in judge.get("summary", {}).items()]
    return ["### LLM judge (pairwise, both orders; a split verdict counts as a tie)", "",
            f"Judge: `{judge.get('model')}` at {judge.get('base_url')}", "",
            _table(["model vs reference", "win", "tie", "loss", "n"], rows), ""]


def render_markdown(results: dict[str, Any]) -> str:
    labels = list(results["models"])
    lines = ["# Evaluation", "", _table(["label", "model"], [[k, f"`{v}`"] for k, v in results["models"].items()]), ""]
    for name, entry in results["tasks"].items():
        # Each task's rows are its kind's; a kind no longer registered leaves its task out of the table.
        kind = kinds.find(entry["kind"])
        if kind is not None:
            lines += kind.report(name, entry, labels)
    if results.get("judge"):
        lines += _judge_section(results["judge"])
    return "\n".join(lines).rstrip() + "\n"


def plot_results(results: dict[str, Any], path: Path) -> Path | None:
    """One panel per task whose kind draws one (bits/char by language, ROUGE-L by task type, accuracy per model)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    labels = list(results["models"])
    panels = [(n, e, k) for n, e in results["tasks"].items() if (k := kinds.find(e["kind"])) is not None and k.plotted]
    if not panels:
        return None
    fig, axes = plt.subplots(1, len(panels), figsize=(max(6, 5 * len(panels)), 4), squeeze=False)
    for ax, (name, entry, kind) in zip(axes[0], panels):
        kind.plot(ax, name, entry, labels)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def write_report(results: dict[str, Any], out_dir: Path) -> dict[str, str]:
    out_dir = Path(out_dir)
    files = {"results": out_dir / "results.json", "table": out_dir / "results.md"}
    write_text(files["table"], render_markdown(results))
    plot = plot_results(results, out_dir / "results.png")
    if plot is not None:
        files["plot"] = plot
    paths = {k: str(v.resolve()) for k, v in files.items()}
    write_json(files["results"], {**results, "files": paths})
    return paths
