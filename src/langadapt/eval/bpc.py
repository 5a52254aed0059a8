"""Bits per character and per UTF-8 byte: the tokenizer-independent language-modelling score.

    from langadapt.eval.bpc import score_texts
    result = score_texts(model, tokenizer, ["some held-out text", ...])
    print(result.bits_per_char, result.bits_per_byte)

Per-token perplexity changes meaning whenever the vocabulary changes (a tokenizer with longer
tokens has fewer, harder tokens), so models with different tokenizers are compared on the total
negative log-likelihood of the same text divided by its characters or bytes.

Long documents are scored with a sliding window: every token is scored exactly once, and each
window ends at the last token it scores, so a token sees as much left context as the window allows
(at least `window - stride` tokens once the document is longer than one window).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any, Sequence

from langadapt.eval.packed import Window, batch_nll, output_layer, window_nll

__all__ = ["BpcResult", "Window", "batch_nll", "output_layer", "prefix_token_id", "score_texts", "windows_for"]

LN2 = math.log(2.0)


@dataclass
class BpcResult:
    nll_nats_total: float
    characters: int
    bytes: int
    tokens: int
    documents: int
    per_document_nll: list[float] = field(default_factory=list, repr=False)

    @property
    def bits_per_char(self) -> float:
        return self.nll_nats_total / LN2 / self.characters if self.characters else float("nan")

    @property
    def bits_per_byte(self) -> float:
        return self.nll_nats_total / LN2 / self.bytes if self.bytes else float("nan")

    @property
    def token_perplexity(self) -> float:
        """exp(mean NLL per token); only comparable between models that share a tokenizer."""
        return math.exp(self.nll_nats_total / self.tokens) if self.tokens else float("nan")

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data.pop("per_document_nll")
        data.update(bits_per_char=self.bits_per_char, bits_per_byte=self.bits_per_byte,
                    token_perplexity=self.token_perplexity)
        return data


def prefix_token_id(tokenizer: Any) -> int | None:
    """The token put before every document so its first real token is scored too.

    BOS when the tokenizer adds one by itself (Llama-2, Mistral); otherwise the end-of-text token,
    which is what a model trained on packed documents saw before a new document (the same choice
    lm-evaluation-harness makes for rolling log-likelihoods). None when the tokenizer has neither.
    """
    bos = getattr(tokenizer, "bos_token_id", None)
    if bos is not None:
        probe = tokenizer("a", add_special_tokens=True)["input_ids"]
        if probe and probe[0] == bos:
            return bos
    eos = getattr(tokenizer, "eos_token_id", None)
    if eos is not None:
        return eos
    return bos


def windows_for(ids: Sequence[int], window: int, stride: int, doc: int = 0) -> list[Window]:
    """Split one token sequence into windows so that each of tokens 1..n-1 is a target exactly once."""
    if window < 2:
        raise ValueError("window must be at least 2 tokens")
    stride = max(1, min(stride, window - 1))
    n = len(ids)
    if n < 2:
        return []
    out: list[Window] = []
    end = min(window, n)
    out.append(Window(doc, list(ids[:end]), end - 1))
    while end < n:
        new_end = min(end + stride, n)
        start = max(0, new_end - window)
        out.append(Window(doc, list(ids[start:new_end]), new_end - end))
        end = new_end
    return out


def _document_tokens(tokenizer: Any, texts: Sequence[str], prefix: int | None) -> tuple[list[list[int]], list[str]]:
    """Token ids per document (prefix first) and the text each document is scored on."""
    encoded = tokenizer(list(texts), add_special_tokens=False)["input_ids"] if texts else []
    docs, scored_text = [], []
    for text, ids in zip(texts, encoded):
        if prefix is not None:
            docs.append([prefix, *ids])
            scored_text.append(text)
        else:
            # No start token: the first token has nothing to be predicted from, so its text is
            # left out of the character and byte counts as well.
            docs.append(list(ids))
            scored_text.append(text[len(tokenizer.decode(ids[:1])):] if ids else "")
    return docs, scored_text


def score_texts(
    model: Any,
    tokenizer: Any,
    texts: Sequence[str],
    window: int = 1024,
    stride: int = 512,
    batch_size: int = 8,
    progress: bool = False,
    desc: str = "bits/char",
    max_batch_tokens: int | None = None,
) -> BpcResult:
    """Total NLL of `texts` under `model`, with characters, bytes and tokens to normalise it by.

    A forward pass holds up to `max_batch_tokens` tokens (default `batch_size` full windows):
    short documents are packed several to a row, so many of them share one pass.
    """
    texts = [t for t in texts if t]
    prefix = prefix_token_id(tokenizer)
    docs, scored_text = _document_tokens(tokenizer, texts, prefix)
    windows = [w for d, ids in enumerate(docs) for w in windows_for(ids, window, stride, doc=d)]
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else (prefix or 0)
    budget = max_batch_tokens or batch_size * window
    was_training = model.training
    model.eval()
    try:
        nll = window_nll(model, windows, pad_id, token_budget=budget, progress=progress, desc=desc)
    finally:
        model.train(was_training)
    per_doc = [0.0] * len(docs)
    for w, value in zip(windows, nll):
        per_doc[w.doc] += value
    return BpcResult(
        nll_nats_total=float(sum(per_doc)),
        characters=sum(len(t) for t in scored_text),
        bytes=sum(len(t.encode("utf-8")) for t in scored_text),
        tokens=sum(w.scored for w in windows),
        documents=len(texts),
        per_document_nll=per_doc,
    )
