"""Bits per character: texts per language (or per source corpus) scored by a sliding window.

Its tasks (`langadapt.eval.tasks`): `udhr-bpc` (the same UDHR articles in every language),
`heldout-bpc` (the clean stage's held-out documents, each source corpus on its own) and task files
of `{text, language}` records. Bits per character and per UTF-8 byte compare
models with different tokenizers; per-token perplexity is shown but marked as not comparable.
"""

from __future__ import annotations

import time
from typing import Any

from langadapt.eval.bpc import score_texts
from langadapt.eval.kinds.base import TaskKind
from langadapt.eval.markdown import NOT_COMPARABLE, bars, fmt, group_label, table


class BitsPerChar(TaskKind):
    name = "bpc"
    plotted = True
    bits_per_char = True

    def score(self, model, tokenizer, task, cfg, progress=False) -> dict[str, Any]:
        scores = {}
        for lang, texts in task.texts.items():
            started = time.perf_counter()
            r = score_texts(model, tokenizer, texts, window=cfg.window, stride=cfg.stride, batch_size=cfg.batch_size,
                            progress=progress, desc=f"{task.name} {lang}")
            scores[lang] = {**r.to_dict(), "seconds": round(time.perf_counter() - started, 3)}
        return {"scores": scores}

    def entry_notes(self, task) -> dict[str, Any]:
        return {"token_perplexity_note": NOT_COMPARABLE}

    def report(self, name: str, entry: dict[str, Any], labels: list[str]) -> list[str]:
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
            rows = [[group_label(entry, k)] + [fmt(entry["scores"].get(label, {}).get(k, {}).get(key), digits)
                                               for label in labels] for k in keys]
            if per_source and key != "token_perplexity":
                for lang, members in ((lang, m) for lang, m in by_lang.items() if len(m) > 1):
                    vals = []
                    for label in labels:
                        got = [entry["scores"].get(label, {}).get(k, {}).get(key) for k in members]
                        vals.append(fmt(sum(got) / len(got), digits) if got and None not in got else "-")
                    rows.append([f"**{lang}: mean of {len(members)} sources**", *vals])
            out += [f"### {name}: {title}", "", table(["source (language)" if per_source else "language", *labels], rows), ""]
        chars = [(group_label(entry, k), fmt(entry["scores"].get(labels[0], {}).get(k, {}).get("characters"))) for k in keys]
        out += [f"Characters scored per {'source' if per_source else 'language'}: " + ", ".join(f"{a} {b}" for a, b in chars), ""]
        if per_source:
            out += ["Each source's held-out records are sampled evenly up to the same number of characters; the mean "
                    "rows weigh every source of a language the same.", ""]
        return out

    def headline(self, scores: dict[str, Any]) -> dict[str, float]:
        return {lang: round(s["bits_per_char"], 4) for lang, s in scores.items()}

    def plot(self, ax, name, entry, labels) -> None:
        scores = entry["scores"]
        groups = list(dict.fromkeys(lang for label in labels for lang in scores.get(label, {})))
        vals = {l: [scores.get(l, {}).get(g, {}).get("bits_per_char", float("nan")) for g in groups] for l in labels}
        bars(ax, [group_label(entry, g) for g in groups], labels, vals, f"{name}: bits per character (lower is better)", "bits/char")
