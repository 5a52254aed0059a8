"""Side-by-side results: a markdown table per task and one bar chart, plus results.json.

    from langadapt.eval.report import render_markdown, write_report
    print(render_markdown(results))
    write_report(results, Path("runs/x/eval"))   # results.json, results.md, results.png
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from langadapt.atomic import write_json, write_text

NOT_COMPARABLE = "not comparable across tokenizers"


def _fmt(value: Any, digits: int = 3) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def _table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(["---"] + ["---:"] * (len(header) - 1)) + "|"]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(lines)


def _group_label(entry: dict[str, Any], key: str) -> str:
    """A per-source row names its language too: `tang-poems (zh-Hant)`."""
    lang = (entry.get("groups") or {}).get(key)
    return f"{key} ({lang})" if lang and lang != key else key


def _bpc_section(name: str, entry: dict[str, Any], labels: list[str]) -> list[str]:
    keys = list(dict.fromkeys(k for label in labels for k in entry["scores"].get(label, {})))
    groups = entry.get("groups") or {}
    per_source = any(groups.get(k, k) != k for k in keys)
    by_lang: dict[str, list[str]] = {}
    for k in keys:
        by_lang.setdefault(groups.get(k, k), []).append(k)
    out = []
    for key, title, digits in (("bits_per_char", "bits per character (lower is better)", 3),
                               ("bits_per_byte", "bits per UTF-8 byte (lower is better)", 3),
                               ("token_perplexity", f"per-token perplexity ({NOT_COMPARABLE})", 2)):
        rows = [[_group_label(entry, k)] + [_fmt(entry["scores"].get(label, {}).get(k, {}).get(key), digits)
                                             for label in labels] for k in keys]
        if per_source and key != "token_perplexity":
            for lang, members in ((lang, m) for lang, m in by_lang.items() if len(m) > 1):
                vals = []
                for label in labels:
                    got = [entry["scores"].get(label, {}).get(k, {}).get(key) for k in members]
                    vals.append(_fmt(sum(got) / len(got), digits) if got and None not in got else "-")
                rows.append([f"**{lang}: mean of {len(members)} sources**", *vals])
        out += [f"### {name}: {title}", "", _table(["source (language)" if per_source else "language", *labels], rows), ""]
    chars = [(_group_label(entry, k), _fmt(entry["scores"].get(labels[0], {}).get(k, {}).get("characters"))) for k in keys]
    out += [f"Characters scored per {'source' if per_source else 'language'}: " + ", ".join(f"{a} {b}" for a, b in chars), ""]
    if per_source:
        out += ["Each source's held-out records are sampled evenly up to the same number of characters; the mean "
                "rows weigh every source of a language the same.", ""]
    return out


# Generation metrics shown only when scored: (key, column title, digits, note under the table).
_OPTIONAL_GENERATION_COLUMNS = (
    ("chrf_pp", "chrF++", 1, "chrF and chrF++: corpus level per task type (sacreBLEU), signature {signature} (chrF++: the same with nw:2)."),
    ("form", "form %", 1, "Form %: answers whose first line has the reference's clauses, each of the same length "
                          "(verse tasks only)."),
    ("answer_bpc", "answer bits/char", 2, "Answer bits/char: bits per character of the reference answer after "
                                          "the same prompt (lower is better; comparable across tokenizers)."),
)


def _generation_section(name: str, entry: dict[str, Any], labels: list[str]) -> list[str]:
    types = list(dict.fromkeys(t for label in labels for t in entry["scores"].get(label, {})))
    types = [t for t in types if t != "average"] + (["average"] if any("average" in entry["scores"].get(l, {}) for l in labels) else [])
    columns, notes = [("rouge_l", "ROUGE-L", 1), ("chrf", "chrF", 1)], []
    for key, title, digits, note in _OPTIONAL_GENERATION_COLUMNS:
        if any(key in s for label in labels for s in entry["scores"].get(label, {}).values()):
            columns.append((key, title, digits))
            signatures = sorted({s.get("chrf_signature", "") for label in labels
                                 for s in entry["scores"].get(label, {}).values()} - {""})
            notes.append(note.format(signature=" / ".join(signatures) or "not recorded"))
    header = ["task type"] + [f"{label} {title}" for label in labels for _, title, _ in columns] + ["n"]
    rows = []
    for t in types:
        row = [f"**{t}**" if t == "average" else t]
        n = None
        for label in labels:
            s = entry["scores"].get(label, {}).get(t, {})
            row += [_fmt(s.get(key), digits) for key, _, digits in columns]
            n = s.get("n", n)
        rows.append(row + [_fmt(n)])
    return [f"### {name}: ROUGE-L F1 and chrF (0-100, higher is better)", "", _table(header, rows), "", *notes,
            *([""] if notes else [])]


def _mc_section(name: str, entry: dict[str, Any], labels: list[str]) -> list[str]:
    rows = [[title] + [_fmt(entry["scores"].get(label, {}).get(key), 1) for label in labels]
            for key, title in (("accuracy", "accuracy % (log-likelihood per character)"),
                               ("accuracy_raw", "accuracy % (total log-likelihood)"))]
    rows.append(["questions"] + [_fmt(entry["scores"].get(label, {}).get("n")) for label in labels])
    return [f"### {name}: multiple choice", "", _table(["metric", *labels], rows), ""]


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
        if entry["kind"] == "bpc":
            lines += _bpc_section(name, entry, labels)
        elif entry["kind"] == "generation":
            lines += _generation_section(name, entry, labels)
        elif entry["kind"] == "multiple_choice":
            lines += _mc_section(name, entry, labels)
        elif entry["kind"] == "lm-eval":
            lines += _lmeval_section(name, entry, labels)
    if results.get("judge"):
        lines += _judge_section(results["judge"])
    return "\n".join(lines).rstrip() + "\n"


def _lmeval_section(name: str, entry: dict[str, Any], labels: list[str]) -> list[str]:
    metrics = list(dict.fromkeys(m for label in labels for m in entry["scores"].get(label, {})))
    rows = [[m] + [_fmt(entry["scores"].get(label, {}).get(m), 4) for label in labels] for m in metrics]
    return [f"### {name} (lm-evaluation-harness)", "", _table(["metric", *labels], rows), ""]


def _bars(ax: Any, groups: list[str], labels: list[str], values: dict[str, list[float]], title: str, ylabel: str) -> None:
    width = 0.8 / max(1, len(labels))
    for i, label in enumerate(labels):
        xs = [g + (i - (len(labels) - 1) / 2) * width for g in range(len(groups))]
        bars = ax.bar(xs, values[label], width, label=label)
        ax.bar_label(bars, fmt="%.2f", fontsize=7, padding=1)
    ax.set_xticks(range(len(groups)))
    ax.set_xticklabels(groups, rotation=20 if max((len(g) for g in groups), default=0) > 8 else 0)
    ax.set_title(title)
    ax.set_ylabel(ylabel)
    ax.legend(fontsize=8)


def plot_results(results: dict[str, Any], path: Path) -> Path | None:
    """One panel per task: bits/char by language, ROUGE-L by task type, accuracy per model."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    labels = list(results["models"])
    panels = [(n, e) for n, e in results["tasks"].items() if e["kind"] in ("bpc", "generation", "multiple_choice")]
    if not panels:
        return None
    fig, axes = plt.subplots(1, len(panels), figsize=(max(6, 5 * len(panels)), 4), squeeze=False)
    for ax, (name, entry) in zip(axes[0], panels):
        scores = entry["scores"]
        if entry["kind"] == "bpc":
            groups = list(dict.fromkeys(lang for label in labels for lang in scores.get(label, {})))
            vals = {l: [scores.get(l, {}).get(g, {}).get("bits_per_char", float("nan")) for g in groups] for l in labels}
            _bars(ax, [_group_label(entry, g) for g in groups], labels, vals,
                  f"{name}: bits per character (lower is better)", "bits/char")
        elif entry["kind"] == "generation":
            groups = list(dict.fromkeys(t for label in labels for t in scores.get(label, {})))
            vals = {l: [scores.get(l, {}).get(g, {}).get("rouge_l", float("nan")) for g in groups] for l in labels}
            _bars(ax, groups, labels, vals, f"{name}: ROUGE-L F1", "ROUGE-L")
        else:
            vals = {l: [scores.get(l, {}).get("accuracy", float("nan"))] for l in labels}
            _bars(ax, ["accuracy"], labels, vals, f"{name}: accuracy", "%")
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
