"""Token cutoff with the base model's tokenizer: documents over `max_tokens` are dropped, never cut.

Tokenises a whole chunk in one call so the fast (Rust) tokenizer does the work, and records each
kept document's token count for stats.json. With `count_all=False` it tokenises only the documents
that could pass the cutoff: a byte-level BPE tokenizer with no normaliser turns every token into at
least one UTF-8 byte of the text, so a text of at most `max_tokens` bytes cannot exceed it. Other
tokenizers give no such bound, and every text is tokenised as before.
"""

from __future__ import annotations

import json
from typing import Any, Callable

from langadapt.corpus.filters.base import Filter, FilterContext

_SPLIT_ONLY = {"Split", "Digits", "Punctuation"}  # pre-tokenizers that only cut the text, never add to it


def bytes_bound_tokens(tok: Any) -> bool:
    """True when no text can have more tokens (without special tokens) than UTF-8 bytes.

    That holds for a BPE over ByteLevel pre-tokenization with no normaliser and no prefix space: every
    token is a non-empty run of the text's own bytes (an added token covers at least one byte too).
    """
    backend = getattr(tok, "backend_tokenizer", None) or getattr(tok, "_tokenizer", None)
    if backend is None or backend.normalizer is not None or type(backend.model).__name__ != "BPE" or backend.pre_tokenizer is None:
        return False
    spec = json.loads(backend.pre_tokenizer.__getstate__())
    parts = spec.get("pretokenizers", []) if spec.get("type") == "Sequence" else [spec]
    byte_level = [p for p in parts if p.get("type") == "ByteLevel"]
    return (len(byte_level) == 1 and not byte_level[0].get("add_prefix_space")
            and all(p.get("type") in _SPLIT_ONLY for p in parts if p.get("type") != "ByteLevel"))


class TokenFilter(Filter):
    name = "tokens"
    reads = ("max_tokens", "count_tokens", "tokenizer")
    batched = True

    @classmethod
    def build(cls, ctx: FilterContext) -> TokenFilter | None:
        """None when the run has no tokenizer (`max_tokens: null` and no token counts wanted)."""
        return cls(ctx.tokenizer, ctx.cfg.max_tokens, ctx.cfg.count_tokens) if ctx.tokenizer is not None else None

    def __init__(self, tokenizer: Callable[[], Any], max_tokens: int | None, count_all: bool = True):
        self._load, self.max_tokens, self.count_all = tokenizer, max_tokens, count_all
        self._bounded: bool | None = None

    def count(self, texts: list[str]) -> list[int]:
        tok = self._load()
        backend = getattr(tok, "backend_tokenizer", None) or getattr(tok, "_tokenizer", None)
        if backend is not None:
            return [len(e.ids) for e in backend.encode_batch(texts, add_special_tokens=False)]
        return [len(ids) for ids in tok(texts, add_special_tokens=False)["input_ids"]]

    def _needs_count(self, texts: list[str]) -> list[int]:
        """Positions to tokenise: all of them, or only those that could pass the cutoff."""
        if self.count_all:
            return list(range(len(texts)))
        if self.max_tokens is None:
            return []
        if self._bounded is None:
            self._bounded = bytes_bound_tokens(self._load())
        if not self._bounded:
            return list(range(len(texts)))
        limit = self.max_tokens
        # 4 bytes per character at most: the encode is needed only near the limit.
        return [i for i, t in enumerate(texts) if len(t) * 4 > limit and len(t.encode("utf-8")) > limit]

    def check_batch(self, texts: list[str]) -> tuple[list[Any], list[int | None]]:
        positions = self._needs_count(texts)
        counts: list[int | None] = [None] * len(texts)
        if positions:
            for i, n in zip(positions, self.count([texts[i] for i in positions])):
                counts[i] = n
        verdicts: list[Any] = []
        for n in counts:
            if self.max_tokens is not None and n is not None and n > self.max_tokens:
                verdicts.append((False, "too_many_tokens", f"{n} tokens > max_tokens={self.max_tokens}"))
            else:
                verdicts.append(True)
        return verdicts, counts
