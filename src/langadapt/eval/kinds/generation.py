"""Generation: the model answers each prompt; answers are scored against the reference.

Its tasks (`langadapt.eval.tasks`): `udhr-translate`, `poem-next-line`, `zh-tw-doc-qa` and task files
of `{instruction, input, reference, task_type}` records. Scores per task type, and their average
over task types (each type counts once): ROUGE-L and chrF/chrF++ (corpus level, sacreBLEU), form
match on verse tasks, and with `eval.answer_bpc` the bits per character of the reference after the
prompt, which still ranks models whose generated answers all score near zero.
"""

from __future__ import annotations

from typing import Any, Sequence

from langadapt.eval.answers import answer_bits
from langadapt.eval.chrf import chrf, corpus_chrf
from langadapt.eval.form import VERSE_TASK_TYPES, form_match
from langadapt.eval.generate import generate_answers, item_prompt
from langadapt.eval.kinds.base import TaskKind
from langadapt.eval.markdown import bars, fmt, table
from langadapt.eval.rouge import rouge_l

METRICS = ("rouge_l", "chrf", "chrf_pp", "form", "answer_bpc")


def score_generation(items: Sequence[dict[str, Any]], predictions: Sequence[str],
                     answer_bits: Sequence[tuple[float, int] | None] | None = None) -> dict[str, Any]:
    """ROUGE-L and chrF per task type, and their average over task types (each type counts once);
    verse tasks also score form match (eval.form); with `answer_bits` ((bits, characters) of each
    reference given its prompt), `answer_bpc` per type too, pooled over characters."""
    by_type: dict[str, list[dict[str, float]]] = {}
    examples = []
    for item, pred in zip(items, predictions):
        scores = {"rouge_l": rouge_l(pred, item["reference"]), "chrf": chrf(pred, item["reference"])}
        if item["task_type"] in VERSE_TASK_TYPES:
            scores["form"] = form_match(pred, item["reference"])
        by_type.setdefault(item["task_type"], []).append(scores)
        examples.append({**{k: item[k] for k in ("id", "task_type", "reference") if k in item},
                         "prompt": item_prompt(item), "prediction": pred,
                         **{k: round(v, 3) for k, v in scores.items()}})
    per_type = {t: {**{k: sum(s[k] for s in v) / len(v) for k in v[0]}, "n": len(v)} for t, v in by_type.items()}
    # chrF and chrF++ per type at corpus level (sacreBLEU), not the mean of the sentence scores above.
    for t in per_type:
        typed = [(pred, item["reference"]) for item, pred in zip(items, predictions) if item["task_type"] == t]
        corpus = corpus_chrf([p for p, _ in typed], [r for _, r in typed])
        per_type[t].update(chrf=corpus.chrf, chrf_pp=corpus.chrf_pp, chrf_signature=corpus.chrf_signature)
    pooled: dict[str, list[float]] = {}
    for item, bits in zip(items, answer_bits or []):
        if bits is not None:
            acc = pooled.setdefault(item["task_type"], [0.0, 0])
            acc[0], acc[1] = acc[0] + bits[0], acc[1] + bits[1]
    for t, (bits_sum, chars) in pooled.items():
        per_type[t]["answer_bpc"] = bits_sum / max(1, chars)
    if per_type:
        average: dict[str, float] = {}
        for key in METRICS:
            present = [s[key] for s in per_type.values() if key in s]
            if present:
                average[key] = sum(present) / len(present)
        per_type["average"] = {**average, "n": len(examples)}
    return {"scores": per_type, "examples": examples}


# Metrics shown only when scored: (key, column title, digits, note under the table).
_OPTIONAL_COLUMNS = (
    ("chrf_pp", "chrF++", 1, "chrF and chrF++: corpus level per task type (sacreBLEU), signature {signature} (chrF++: the same with nw:2)."),
    ("form", "form %", 1, "Form %: answers whose first line has the reference's clauses, each of the same length "
                          "(verse tasks only)."),
    ("answer_bpc", "answer bits/char", 2, "Answer bits/char: bits per character of the reference answer after "
                                          "the same prompt (lower is better; comparable across tokenizers)."),
)


class Generation(TaskKind):
    name = "generation"
    plotted = True

    def score(self, model, tokenizer, task, cfg, progress=False) -> dict[str, Any]:
        prompts = [item_prompt(it) for it in task.items]
        answers = generate_answers(model, tokenizer, prompts, cfg.generation, batch_size=cfg.batch_size, chat=cfg.chat,
                                   progress=progress)
        bits = None
        if cfg.answer_bpc:
            bits = answer_bits(model, tokenizer, task.items, chat=cfg.chat, batch_size=cfg.batch_size, max_length=cfg.window)
        return score_generation(task.items, answers, bits)

    def report(self, name: str, entry: dict[str, Any], labels: list[str]) -> list[str]:
        types = list(dict.fromkeys(t for label in labels for t in entry["scores"].get(label, {})))
        types = [t for t in types if t != "average"] + (["average"] if any("average" in entry["scores"].get(l, {}) for l in labels) else [])
        columns, notes = [("rouge_l", "ROUGE-L", 1), ("chrf", "chrF", 1)], []
        for key, title, digits, note in _OPTIONAL_COLUMNS:
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
                row += [fmt(s.get(key), digits) for key, _, digits in columns]
                n = s.get("n", n)
            rows.append(row + [fmt(n)])
        return [f"### {name}: ROUGE-L F1 and chrF (0-100, higher is better)", "", table(header, rows), "", *notes,
                *([""] if notes else [])]

    def headline(self, scores: dict[str, Any]) -> dict[str, float]:
        avg = scores.get("average", {})
        return {k: round(avg[k], 3) for k in METRICS if k in avg}

    def plot(self, ax, name, entry, labels) -> None:
        scores = entry["scores"]
        groups = list(dict.fromkeys(t for label in labels for t in scores.get(label, {})))
        vals = {l: [scores.get(l, {}).get(g, {}).get("rouge_l", float("nan")) for g in groups] for l in labels}
        bars(ax, groups, labels, vals, f"{name}: ROUGE-L F1", "ROUGE-L")
