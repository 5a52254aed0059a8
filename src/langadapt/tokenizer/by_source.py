"""Tokens per character and bits per character right after extension, per held-out source corpus.

    from langadapt.tokenizer.by_source import heldout_by_source, assess_by_source
    sources = heldout_by_source("runs/x/clean/heldout.jsonl", max_chars=4000)
    metrics = assess_by_source("smollm2-135m-instruct", "runs/x/tokenizer/model", sources)

The clean stage's held-out records name their corpus (`source`). Each source is scored on its own,
on the same evenly spread sample the eval stage takes (`eval.tasks.sample_evenly`), so that poems
cannot stand for prose: a vocabulary learned from one source shows its cost on the others here,
before any training. Per-language figures stay where they were (`tokens_per_char_before`, ...).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from langadapt.eval.tasks import sample_evenly
from langadapt.models import load_model
from langadapt.tokenizer.report import bits_per_char, tokens_per_char
from langadapt.tokenizer.tokenizer_only import load_base_tokenizer


@dataclass
class HeldoutSources:
    texts: dict[str, list[str]] = field(default_factory=dict)
    """source corpus -> its sampled held-out texts."""
    languages: dict[str, str] = field(default_factory=dict)
    """source corpus -> its language."""


def heldout_by_source(path: str | os.PathLike | None, max_chars: int) -> HeldoutSources:
    """Held-out texts per source, `max_chars` sampled evenly from each; empty when records lack `source`."""
    out = HeldoutSources()
    if not path or not Path(path).is_file() or max_chars <= 0:
        return out
    grouped: dict[str, list[str]] = {}
    with Path(path).open(encoding="utf-8") as fh:
        for line in fh:
            if not line.strip():
                continue
            rec = json.loads(line)
            if not rec.get("source") or not isinstance(rec.get("text"), str):
                continue
            grouped.setdefault(rec["source"], []).append(rec["text"])
            out.languages.setdefault(rec["source"], rec.get("language") or rec.get("lang") or "und")
    out.texts = {src: sample_evenly(texts, max_chars) for src, texts in grouped.items()}
    return out


def assess_by_source(base_model: str, extended_dir: str | os.PathLike, sources: HeldoutSources,
                     score: bool = True) -> dict[str, Any]:
    """Manifest metrics: `tokens_per_char_by_source_{before,after}`, `bpc_by_source_{before,after_init}`."""
    if not sources.texts:
        return {}
    from transformers import AutoTokenizer

    base_tok = load_base_tokenizer(base_model)
    ext_tok = AutoTokenizer.from_pretrained(str(extended_dir))
    metrics: dict[str, Any] = {
        "heldout_source_languages": dict(sources.languages),
        "heldout_source_chars": {s: sum(map(len, t)) for s, t in sources.texts.items()},
        "tokens_per_char_by_source_before": {s: round(tokens_per_char(base_tok, t), 4) for s, t in sources.texts.items()},
        "tokens_per_char_by_source_after": {s: round(tokens_per_char(ext_tok, t), 4) for s, t in sources.texts.items()},
    }
    if score:
        for key, ref, tok in (("bpc_by_source_before", base_model, base_tok),
                              ("bpc_by_source_after_init", str(extended_dir), ext_tok)):
            model = load_model(ref, dtype="fp32")
            metrics[key] = {s: round(bits_per_char(model, tok, t), 4) for s, t in sources.texts.items()}
            del model
    return metrics
