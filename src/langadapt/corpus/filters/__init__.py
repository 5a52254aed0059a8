"""Filters: each looks at one normalised document and returns `True` (keep) or `(False, reason, detail)`.

Use: `build_filters(["length", "script", "tokens"], clean_config, preset, tokenizer_loader)`.
`reason` is a short code counted in stats.json; `detail` is the human-readable why, kept in rejects.jsonl.
Filters with `batched = True` (the token cutoff) take a whole chunk at once via `check_batch`.
"""

from __future__ import annotations

from typing import Any, Callable, Union

from langadapt.config.clean import CleanConfig
from langadapt.errors import UserError

Verdict = Union[bool, tuple]


def build_filters(names: list[str], cfg: CleanConfig, preset: Any, tokenizer: Callable[[], Any] | None) -> list[Any]:
    from langadapt.corpus.filters.length import LengthFilter
    from langadapt.corpus.filters.repetition import RepetitionFilter
    from langadapt.corpus.filters.script import ScriptFilter
    from langadapt.corpus.filters.simplified import SimplifiedFilter
    from langadapt.corpus.filters.tokens import TokenFilter

    found = []
    for name in names:
        if name == "length":
            found.append(LengthFilter(cfg.min_chars, cfg.max_chars))
        elif name == "script":
            share = cfg.min_script_share if cfg.min_script_share is not None else preset.min_script_share
            if preset.script and share:
                found.append(ScriptFilter(preset.script, share))
        elif name == "simplified":
            share = cfg.max_simplified_share if cfg.max_simplified_share is not None else preset.max_simplified_share
            found.append(SimplifiedFilter(share if share is not None else 0.5))
        elif name == "repetition":
            found.append(RepetitionFilter(cfg.max_duplicate_line_share, cfg.max_top_ngram_share, cfg.repetition_min_chars))
        elif name == "tokens":
            if tokenizer is not None:
                found.append(TokenFilter(tokenizer, cfg.max_tokens, cfg.count_tokens))
        else:
            raise UserError(f"unknown filter {name!r}; known: length, script, simplified, repetition, tokens")
    return found
