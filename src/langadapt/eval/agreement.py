"""Do people and the LLM judge pick the same winner?

    langadapt eval --human human-judgements.jsonl --judge-results runs/x/eval/results.json [--out DIR]

Human choices come from the blind judging page (`langadapt webui --judge`); the judge's verdicts from
`langadapt eval --judge-url ...` (results.json, or its `judge` part saved alone). Items are matched by
id and model pair. Each human choice is paired with the judge's verdict on the same item; win rates
of both are taken over those pairs, then percent agreement and Cohen's kappa over the three outcomes
(first model wins, tie, second model wins; models in name order).
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any, Sequence

from langadapt.atomic import write_json, write_text
from langadapt.errors import UserError

LABELS = ("first", "tie", "second")


def cohen_kappa(a: Sequence[str], b: Sequence[str]) -> float:
    """(p_o - p_e) / (1 - p_e); NaN when chance agreement is already certain (both always say the same one thing)."""
    if len(a) != len(b) or not a:
        raise ValueError("cohen_kappa needs two equally long, non-empty label lists")
    n = len(a)
    observed = sum(x == y for x, y in zip(a, b)) / n
    ca, cb = Counter(a), Counter(b)
    expected = sum(ca[k] * cb[k] for k in set(ca) | set(cb)) / (n * n)
    if expected == 1.0:
        return float("nan")
    return (observed - expected) / (1.0 - expected)


def load_human(path: str | Path) -> list[dict[str, Any]]:
    path = Path(path)
    if not path.is_file():
        raise UserError(f"{path}: no such human judgements file")
    rows = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        row = json.loads(line)
        if "winner" not in row or "id" not in row or len(row.get("models") or []) != 2:
            raise UserError(f"{path}:{n}: needs id, models (two names) and winner (a model name or tie)")
        rows.append(row)
    return rows


def load_judge(path: str | Path) -> dict[tuple[str, tuple[str, str]], str]:
    """(item id, (model, model) in name order) -> winning model name or "tie"."""
    path = Path(path)
    if not path.is_file():
        raise UserError(f"{path}: no such judge results file")
    data = json.loads(path.read_text(encoding="utf-8"))
    judge = data.get("judge", data)
    if "details" not in judge:
        raise UserError(f"{path}: no LLM-judge details (run `langadapt eval` with --judge-url to make them)")
    verdicts = {}
    for key, outcomes in judge["details"].items():
        task, _, pair = key.partition(": ")
        model_1, _, model_2 = pair.partition(" vs ")
        for i, o in enumerate(outcomes):
            winner = {"win": model_1, "loss": model_2}.get(o["outcome"], "tie")
            item = f"{task}/{o.get('id') if o.get('id') is not None else i}"
            verdicts[(item, tuple(sorted((model_1, model_2))))] = winner
    return verdicts


def _label(winner: str, models: tuple[str, str]) -> str:
    return "tie" if winner == "tie" else LABELS[0] if winner == models[0] else LABELS[2]


def _rates(labels: list[str]) -> dict[str, float]:
    return {k: labels.count(k) / len(labels) for k in LABELS}


def agreement(human: list[dict[str, Any]], judge: dict[tuple[str, tuple[str, str]], str]) -> dict[str, Any]:
    groups: dict[tuple[str, str], tuple[list[str], list[str]]] = defaultdict(lambda: ([], []))
    unmatched = 0
    for row in human:
        models = tuple(sorted(row["models"]))
        verdict = judge.get((str(row["id"]), models))
        if verdict is None:
            unmatched += 1
            continue
        h, j = groups[models]
        h.append(_label(row["winner"], models))
        j.append(_label(verdict, models))
    if not groups:
        raise UserError("no human choice matches an item the LLM judge rated (ids and model names must agree)")
    rows = []
    everything: tuple[list[str], list[str]] = ([], [])
    for models, (h, j) in sorted(groups.items()):
        rows.append(_row(list(models), h, j))
        everything[0].extend(h)
        everything[1].extend(j)
    overall = _row(["all pairs"], *everything) if len(rows) > 1 else None
    return {"pairs": rows, "overall": overall, "unmatched_human": unmatched}


def _row(models: list[str], h: list[str], j: list[str]) -> dict[str, Any]:
    return {"models": models, "n": len(h), "human": _rates(h), "judge": _rates(j),
            "agreement": sum(x == y for x, y in zip(h, j)) / len(h), "kappa": cohen_kappa(h, j)}


def render_markdown(result: dict[str, Any]) -> str:
    lines = ["### Human vs LLM judge", "",
             "| first model | second model | items | human: first / tie / second | judge: first / tie / second "
             "| agreement | Cohen's kappa |", "|---|---|---:|---|---|---:|---:|"]
    pct = lambda r: " / ".join(f"{100 * r[k]:.0f}%" for k in LABELS)  # noqa: E731
    for row in result["pairs"] + ([result["overall"]] if result["overall"] else []):
        first, second = (row["models"] + [""])[:2]
        kappa = "n/a" if row["kappa"] != row["kappa"] else f"{row['kappa']:.3f}"
        lines.append(f"| {first} | {second} | {row['n']} | {pct(row['human'])} | {pct(row['judge'])} "
                     f"| {100 * row['agreement']:.1f}% | {kappa} |")
    lines += ["", "Win rates are shares of the matched items; kappa corrects agreement for chance "
              "(1 = always agree, 0 = as often as chance)."]
    if result["unmatched_human"]:
        lines.append(f"{result['unmatched_human']} human choices had no judge verdict and were left out.")
    return "\n".join(lines) + "\n"


def agreement_report(human_path: str | Path, judge_path: str | Path, out_dir: str | Path | None = None) -> tuple[dict, str]:
    result = agreement(load_human(human_path), load_judge(judge_path))
    text = render_markdown(result)
    if out_dir:
        write_json(Path(out_dir) / "agreement.json", result)
        write_text(Path(out_dir) / "agreement.md", text)
    return result, text
