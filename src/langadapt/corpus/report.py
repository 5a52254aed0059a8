"""Counting and reporting: the running stats of a clean, stats.json, report.md and the length histogram.

Use: `stats = CleanStats(); stats.add_kept(doc)`...; `write_report(stats_dict, folder)` writes
`report.md` and `length_histogram.png` (matplotlib, Agg backend).
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from langadapt.atomic import write_text

HISTOGRAM = "length_histogram.png"


def length_bin(n: int) -> int:
    """Power-of-two bins: constant memory however many documents pass."""
    return 0 if n <= 1 else int(math.log2(n))


@dataclass
class CorpusCounts:
    documents_in: int = 0
    documents_kept: int = 0
    documents_rejected: int = 0
    heldout_documents: int = 0
    chars_in: int = 0
    chars_out: int = 0
    tokens_out: int = 0


@dataclass
class CleanStats:
    documents_in: int = 0
    documents_kept: int = 0
    documents_rejected: int = 0
    heldout_documents: int = 0
    bytes_in: int = 0
    chars_in: int = 0
    chars_out: int = 0
    tokens_out: int = 0
    rejects_by_reason: Counter = field(default_factory=Counter)
    rejects_by_step: Counter = field(default_factory=Counter)
    step_seconds: Counter = field(default_factory=Counter)
    changed_by: Counter = field(default_factory=Counter)
    length_bins: Counter = field(default_factory=Counter)
    corpora: dict[str, CorpusCounts] = field(default_factory=dict)
    tokens_counted: bool = True
    """False when clean.count_tokens is off: tokens_out is then reported as None, not a partial sum."""

    def corpus(self, name: str) -> CorpusCounts:
        return self.corpora.setdefault(name, CorpusCounts())

    def add_reject(self, source: str, step: str, reason: str, chars_in: int = 0) -> None:
        self.documents_in += 1
        self.documents_rejected += 1
        self.chars_in += chars_in
        self.rejects_by_reason[reason] += 1
        self.rejects_by_step[step] += 1
        c = self.corpus(source)
        c.documents_in += 1
        c.documents_rejected += 1
        c.chars_in += chars_in

    def add_kept(self, source: str, chars_in: int, chars_out: int, tokens: int | None, heldout: bool) -> None:
        self.documents_in += 1
        self.documents_kept += 1
        self.chars_in += chars_in
        self.chars_out += chars_out
        self.tokens_out += tokens or 0
        self.heldout_documents += int(heldout)
        self.length_bins[length_bin(chars_out)] += 1
        c = self.corpus(source)
        c.documents_in += 1
        c.documents_kept += 1
        c.heldout_documents += int(heldout)
        c.chars_in += chars_in
        c.chars_out += chars_out
        c.tokens_out += tokens or 0

    @property
    def invariant_ok(self) -> bool:
        return self.documents_in == self.documents_kept + self.documents_rejected

    def invariant_line(self) -> str:
        mark = "ok" if self.invariant_ok else "BROKEN"
        return (f"input records {self.documents_in:,} = kept {self.documents_kept:,} + rejected "
                f"{self.documents_rejected:,} ({mark})")

    def to_dict(self) -> dict[str, Any]:
        return {
            "documents_in": self.documents_in,
            "documents_kept": self.documents_kept,
            "documents_rejected": self.documents_rejected,
            "heldout_documents": self.heldout_documents,
            "train_documents": self.documents_kept - self.heldout_documents,
            "invariant": self.invariant_line(),
            "invariant_ok": self.invariant_ok,
            "bytes_in": self.bytes_in,
            "chars_in": self.chars_in,
            "chars_out": self.chars_out,
            "tokens_out": self.tokens_out if self.tokens_counted else None,
            "rejects_by_reason": dict(sorted(self.rejects_by_reason.items())),
            "rejects_by_step": dict(sorted(self.rejects_by_step.items())),
            "step_seconds": {k: round(v, 4) for k, v in sorted(self.step_seconds.items())},
            "changed_by": dict(sorted(self.changed_by.items())),
            "length_histogram": {"bin": "chars in [2^k, 2^(k+1))", "counts": {str(k): v for k, v in sorted(self.length_bins.items())}},
            "corpora": {name: {**vars(c), **({} if self.tokens_counted else {"tokens_out": None})}
                        for name, c in self.corpora.items()},
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "CleanStats":
        s = cls()
        for key in ("documents_in", "documents_kept", "documents_rejected", "heldout_documents", "bytes_in",
                    "chars_in", "chars_out", "tokens_out"):
            setattr(s, key, data.get(key) or 0)
        s.rejects_by_reason = Counter(data.get("rejects_by_reason", {}))
        s.rejects_by_step = Counter(data.get("rejects_by_step", {}))
        s.step_seconds = Counter(data.get("step_seconds", {}))
        s.changed_by = Counter(data.get("changed_by", {}))
        s.length_bins = Counter({int(k): v for k, v in data.get("length_histogram", {}).get("counts", {}).items()})
        s.corpora = {k: CorpusCounts(**{**v, "tokens_out": v.get("tokens_out") or 0}) for k, v in data.get("corpora", {}).items()}
        s.tokens_counted = "tokens_out" not in data or data["tokens_out"] is not None
        return s

    def merge(self, other: "CleanStats") -> None:
        for key in ("documents_in", "documents_kept", "documents_rejected", "heldout_documents", "bytes_in",
                    "chars_in", "chars_out", "tokens_out"):
            setattr(self, key, getattr(self, key) + getattr(other, key))
        self.tokens_counted = self.tokens_counted and other.tokens_counted
        for key in ("rejects_by_reason", "rejects_by_step", "step_seconds", "changed_by", "length_bins"):
            getattr(self, key).update(getattr(other, key))
        for name, c in other.corpora.items():
            mine = self.corpus(name)
            for key, value in vars(c).items():
                setattr(mine, key, getattr(mine, key) + value)


def plot_histogram(counts: dict[str, int], path: Path, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    bins = sorted(int(k) for k in counts)
    fig, ax = plt.subplots(figsize=(7, 3.5))
    if bins:
        xs = list(range(bins[0], bins[-1] + 1))
        ax.bar([str(2 ** k) for k in xs], [counts.get(str(k), 0) for k in xs], color="#4c72b0")
    ax.set_xlabel("document length in characters (bin start, powers of two)")
    ax.set_ylabel("documents kept")
    ax.set_title(title)
    ax.tick_params(axis="x", labelrotation=45)
    fig.tight_layout()
    tmp = path.with_name(f".{path.name}.tmp.png")
    fig.savefig(tmp, dpi=100)
    plt.close(fig)
    tmp.replace(path)


def _count(n: int | None) -> str:
    return "not counted (clean.count_tokens off)" if n is None else f"{n:,}"


def render_report(stats: dict[str, Any]) -> str:
    lines = [
        "# Corpus cleaning report",
        "",
        f"**{stats['invariant']}**",
        "",
        f"- preset(s): {', '.join(sorted(set((stats.get('presets') or {}).values()))) or '-'}",
        f"- kept for training: {stats['train_documents']:,}; held out for evaluation: {stats['heldout_documents']:,}",
        f"- characters in / out: {stats['chars_in']:,} / {stats['chars_out']:,} (out: the kept documents after "
        "normalisation, whose CJK-Latin spacing can add characters); tokens out: " + _count(stats['tokens_out']),
        "",
        "## Rejects by reason",
        "",
        "| reason | documents |",
        "|---|---:|",
    ]
    lines += [f"| {r} | {n:,} |" for r, n in sorted(stats["rejects_by_reason"].items(), key=lambda x: -x[1])] or ["| (none) | 0 |"]
    lines += ["", "## Corpora", "", "| corpus | in | kept | rejected | held out | chars out | tokens out |", "|---|---:|---:|---:|---:|---:|---:|"]
    for name, c in stats["corpora"].items():
        lines.append(f"| {name} | {c['documents_in']:,} | {c['documents_kept']:,} | {c['documents_rejected']:,} | "
                     f"{c['heldout_documents']:,} | {c['chars_out']:,} | {_count(c['tokens_out'])} |")
    lines += ["", "## Steps", "", "| step | seconds | documents changed |", "|---|---:|---:|"]
    for step, sec in stats["step_seconds"].items():
        lines.append(f"| {step} | {sec:.2f} | {stats['changed_by'].get(step, '')} |")
    lines += ["", "## Document lengths", "", f"![length histogram]({HISTOGRAM})", ""]
    return "\n".join(lines)


def write_report(stats: dict[str, Any], folder: Path) -> None:
    plot_histogram(stats["length_histogram"]["counts"], folder / HISTOGRAM, "Kept documents by length")
    write_text(folder / "report.md", render_report(stats))
