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
from typing import Any, Iterable, Sequence

LN2 = math.log(2.0)
# Scored positions pushed through the output layer at once: bounds the (positions x vocab) logits.
_HEAD_CHUNK = 2048


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


@dataclass
class Window:
    doc: int
    ids: list[int]
    scored: int
    """The last `scored` tokens of `ids` are targets (each predicted from the tokens before it)."""


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


def output_layer(model: Any):
    """(decoder, head, softcap) when the model splits that way, else None (then a full forward is used)."""
    try:
        decoder = model.get_decoder()
        head = model.get_output_embeddings()
    except (AttributeError, NotImplementedError):
        return None
    if decoder is None or head is None or decoder is model:
        return None
    return decoder, head, getattr(model.config, "final_logit_softcapping", None)


def batch_nll(model: Any, batch: list[Window], pad_id: int, split: Any) -> list[float]:
    import torch
    import torch.nn.functional as F

    device = next(model.parameters()).device
    width = max(len(w.ids) for w in batch)
    input_ids = torch.full((len(batch), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(batch), width), dtype=torch.long)
    rows, cols, targets = [], [], []
    for r, w in enumerate(batch):
        n = len(w.ids)
        input_ids[r, :n] = torch.tensor(w.ids)
        mask[r, :n] = 1
        # Logit at position p predicts token p+1; the last `scored` tokens are targets.
        for p in range(n - 1 - w.scored, n - 1):
            rows.append(r)
            cols.append(p)
            targets.append(w.ids[p + 1])
    # Right padding with explicit positions: real tokens sit at 0..n-1 in every row.
    positions = torch.arange(width).unsqueeze(0).expand(len(batch), -1)
    input_ids, mask, positions = input_ids.to(device), mask.to(device), positions.to(device)
    rows_t, cols_t = torch.tensor(rows, device=device), torch.tensor(cols, device=device)
    target_t = torch.tensor(targets, device=device)
    if split is not None:
        decoder, head, softcap = split
        hidden = decoder(input_ids=input_ids, attention_mask=mask, position_ids=positions).last_hidden_state
        picked = hidden[rows_t, cols_t]
        losses = []
        for i in range(0, picked.shape[0], _HEAD_CHUNK):
            logits = head(picked[i:i + _HEAD_CHUNK]).float()
            if softcap:
                logits = torch.tanh(logits / softcap) * softcap
            losses.append(F.cross_entropy(logits, target_t[i:i + _HEAD_CHUNK], reduction="none"))
        token_nll = torch.cat(losses)
    else:
        logits = model(input_ids=input_ids, attention_mask=mask, position_ids=positions).logits
        token_nll = F.cross_entropy(logits[rows_t, cols_t].float(), target_t, reduction="none")
    per_row = torch.zeros(len(batch), dtype=torch.float64, device=device)
    per_row.index_add_(0, rows_t, token_nll.double())
    return per_row.tolist()


def score_texts(
    model: Any,
    tokenizer: Any,
    texts: Sequence[str],
    window: int = 1024,
    stride: int = 512,
    batch_size: int = 8,
    progress: bool = False,
    desc: str = "bits/char",
) -> BpcResult:
    """Total NLL of `texts` under `model`, with characters, bytes and tokens to normalise it by."""
    import torch

    texts = [t for t in texts if t]
    prefix = prefix_token_id(tokenizer)
    docs, scored_text = _document_tokens(tokenizer, texts, prefix)
    windows = [w for d, ids in enumerate(docs) for w in windows_for(ids, window, stride, doc=d)]
    # Longest first: similar lengths share a batch, so little compute goes to padding.
    windows.sort(key=lambda w: len(w.ids), reverse=True)
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else (prefix or 0)
    split = output_layer(model)
    per_doc = [0.0] * len(docs)
    batches: Iterable[int] = range(0, len(windows), batch_size)
    if progress:
        from tqdm.auto import tqdm

        batches = tqdm(batches, desc=desc, unit="batch", leave=False)
    was_training = model.training
    model.eval()
    try:
        with torch.inference_mode():
            for start in batches:
                batch = windows[start:start + batch_size]
                for w, nll in zip(batch, batch_nll(model, batch, pad_id, split)):
                    per_doc[w.doc] += nll
    finally:
        model.train(was_training)
    return BpcResult(
        nll_nats_total=float(sum(per_doc)),
        characters=sum(len(t) for t in scored_text),
        bytes=sum(len(t.encode("utf-8")) for t in scored_text),
        tokens=sum(w.scored for w in windows),
        documents=len(texts),
        per_document_nll=per_doc,
    )
