"""Compare tokenizers on held-out text, and measure a model's bits per character.

    langadapt tokenizer report runs/x/tokenizer/model smollm2-135m-instruct --text zh-Hant=heldout.txt

For each tokenizer and language: tokens per character, characters per token, how many of the new
pieces the text actually uses, and the longest new pieces; plus a bar chart. Bits per character
(not per token, which is not comparable across vocabularies) shows how much an extended model lost
right after extension.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Iterable

from langadapt.atomic import write_json, write_text
from langadapt.eval.bpc import score_texts


def tokens_per_char(tokenizer: Any, texts: list[str]) -> float:
    chars = sum(len(t) for t in texts)
    if not chars:
        return float("nan")
    enc = tokenizer(texts, add_special_tokens=False)["input_ids"]
    return sum(len(ids) for ids in enc) / chars


def new_pieces_used(tokenizer: Any, texts: list[str], first_new_id: int) -> int:
    enc = tokenizer(texts, add_special_tokens=False)["input_ids"]
    return len({i for ids in enc for i in ids if i >= first_new_id})


def longest_new_pieces(tokenizer: Any, first_new_id: int, n: int = 20) -> list[str]:
    ids = range(first_new_id, len(tokenizer))
    texts = [tokenizer.decode([i]) for i in ids]
    return sorted((t for t in texts if "\ufffd" not in t), key=len, reverse=True)[:n]


def bits_per_char(model: Any, tokenizer: Any, texts: Iterable[str], progress: bool = False) -> float:
    """Bits per character of `texts`, by the evaluation stage's scorer so that a run's numbers agree."""
    texts = [t for t in texts if t]
    return float(score_texts(model, tokenizer, texts, progress=progress).bits_per_char)


def compare(tokenizers: dict[str, Any], texts: dict[str, list[str]], first_new_ids: dict[str, int] | None = None) -> dict:
    """Per tokenizer and language: tokens/char, chars/token and new pieces used."""
    first_new_ids = first_new_ids or {}
    table: dict[str, dict] = {}
    for name, tok in tokenizers.items():
        row: dict[str, Any] = {"vocab_size": len(tok), "languages": {}}
        for lang, lines in texts.items():
            tpc = tokens_per_char(tok, lines)
            entry = {"tokens_per_char": tpc, "chars_per_token": 1 / tpc if tpc else float("nan"),
                     "chars": sum(map(len, lines))}
            if name in first_new_ids:
                entry["new_pieces_used"] = new_pieces_used(tok, lines, first_new_ids[name])
            row["languages"][lang] = entry
        if name in first_new_ids:
            row["new_pieces"] = len(tok) - first_new_ids[name]
            row["longest_new_pieces"] = longest_new_pieces(tok, first_new_ids[name])
        table[name] = row
    return table


def bar_chart(table: dict, path: str | Path, title: str = "Tokens per character (lower is better)") -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = list(table)
    langs = sorted({lang for row in table.values() for lang in row["languages"]})
    fig, ax = plt.subplots(figsize=(max(5, 1.6 * len(langs) * len(names) / 2 + 2), 4))
    width = 0.8 / max(len(names), 1)
    for k, name in enumerate(names):
        values = [table[name]["languages"].get(lang, {}).get("tokens_per_char", 0) for lang in langs]
        xs = [i + k * width for i in range(len(langs))]
        bars = ax.bar(xs, values, width, label=name)
        ax.bar_label(bars, fmt="%.2f", fontsize=8)
    ax.set_xticks([i + width * (len(names) - 1) / 2 for i in range(len(langs))], langs)
    ax.set_ylabel("tokens per character")
    ax.set_title(title)
    ax.legend(fontsize=8)
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def to_markdown(table: dict, bpc: dict[str, dict[str, float]] | None = None) -> str:
    lines = ["# Tokenizer report", "", "| tokenizer | vocab | language | tokens/char | chars/token | new pieces used |",
             "|---|---:|---|---:|---:|---:|"]
    for name, row in table.items():
        for lang, e in row["languages"].items():
            used = e.get("new_pieces_used")
            used_s = f"{used} / {row['new_pieces']}" if used is not None else ""
            lines.append(f"| {name} | {row['vocab_size']} | {lang} | {e['tokens_per_char']:.3f} | {e['chars_per_token']:.2f} | {used_s} |")
    for name, row in table.items():
        if row.get("longest_new_pieces"):
            lines += ["", f"Longest new pieces of {name}: " + ", ".join(f"`{p}`" for p in row["longest_new_pieces"][:15])]
    if bpc:
        lines += ["", "## Bits per character (held-out text)", "", "| model | language | bits/char |", "|---|---|---:|"]
        for label, per_lang in bpc.items():
            for lang, v in per_lang.items():
                lines.append(f"| {label} | {lang} | {v:.3f} |")
    return "\n".join(lines) + "\n"


def write_report(table: dict, out_dir: str | Path, bpc: dict | None = None, extra: dict | None = None) -> dict[str, str]:
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    write_json(out / "report.json", {"tokenizers": table, "bpc": bpc or {}, **(extra or {})})
    write_text(out / "report.md", to_markdown(table, bpc))
    chart = bar_chart(table, out / "tokens_per_char.png")
    return {"report": str(out / "report.json"), "markdown": str(out / "report.md"), "chart": str(chart)}
