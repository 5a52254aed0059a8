"""Continual-pretraining data on a memory-mapped token store: select corpora, split off validation
documents, mix corpora by weight (with a replay share), and pack with document boundaries kept.

    store = shards.token_store(tokenizer, "runs/x/clean/corpus")     # tokenized once, cached on disk
    train, val, info = cpt_sequences(store, max_len=1024, packing=True, validation_fraction=0.01, seed=42,
                                     weights={"poems": 1.0, "english": 0.5}, replay={"english"}, replay_share=0.2)
    train[k]        # {"input_ids", "labels", "position_ids"} of packed sequence k, read from the memory map

Everything before `train[k]` works on per-document arrays (length, characters, source), never on
the tokens: a corpus of any size costs ~30 bytes a document in memory. Sequence k of the packed
stream is the token window [k*max_len, (k+1)*max_len) of the documents laid end to end in mixed
order, found by a binary search over their cumulative lengths, so the data order stays a pure
function of (seed, step) and resume stays exact.

A packed sequence carries `position_ids` that restart at every document start; with no attention mask,
transformers turns those into per-document (block-diagonal causal) attention on sdpa/eager and into
variable-length attention on flash-attention, so no token attends across documents.
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np

from langadapt.errors import UserError
from langadapt.train.docstream import iter_documents
from langadapt.train.shards import TokenStore, _affixes, _encoder, store_from_ids

IGNORE = -100


def read_documents(path: str | Path, names: Iterable[str] | None = None) -> list[dict]:
    """Records of a small corpus as a list (tests, tools); training streams through `shards.token_store`."""
    wanted = set(names) if names else None
    docs = [{"text": d.text, "source": d.source, "role": d.role} for d in iter_documents(path)
            if wanted is None or d.source in wanted]
    if not docs:
        raise UserError(f"{path}: no documents with a `text` field" + (f" from corpora {sorted(wanted)}" if wanted else ""))
    return docs


def select(store: TokenStore, names: Iterable[str] | None = None) -> np.ndarray:
    """Indices of the store's documents from the named corpora (all when `names` is empty)."""
    if not len(store):
        raise UserError(f"{store.path or 'corpus'}: no documents with a `text` field")
    if not names:
        return np.arange(len(store), dtype=np.int64)
    wanted = set(names)
    codes = [i for i, n in enumerate(store.sources) if n in wanted]
    idx = np.flatnonzero(np.isin(np.asarray(store.source), codes)).astype(np.int64)
    if not len(idx):
        raise UserError(f"no documents from corpora {sorted(wanted)} (the corpus has {sorted(store.sources)})")
    return idx


def split_indices(n: int, fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Positions 0..n-1 split into (train, validation), whole documents, each in ascending order."""
    n_val = 0 if fraction <= 0 or n < 2 else max(1, round(fraction * n))
    perm = np.random.default_rng(seed).permutation(n)
    return np.sort(perm[n_val:]), np.sort(perm[:n_val])


def split_validation(docs: Sequence[dict], fraction: float, seed: int) -> tuple[list[dict], list[dict]]:
    """Hold out whole documents (never pieces of a training document) for validation."""
    train, val = split_indices(len(docs), fraction, seed)
    return [docs[i] for i in train], [docs[i] for i in val]


def sample_by_weight(docs: list, factor: float, rng: random.Random) -> list:
    """`factor` 2.5 -> two full copies plus a random half; 0.3 -> a random 30%."""
    whole = int(factor)
    out = docs * whole
    extra = round((factor - whole) * len(docs))
    if extra:
        out += rng.sample(docs, extra)
    return out


def mix_indices(idx: np.ndarray, group: np.ndarray, names: Sequence[str], chars: np.ndarray,
                roles: dict[str, str | None] | None = None, weights: dict[str, float] | None = None,
                replay: set[str] | None = None, replay_share: float | None = None,
                seed: int = 0) -> tuple[np.ndarray, dict]:
    """Resample documents `idx` per source by weight; returns the shuffled mix (document indices) and its shares.

    `group[i]` is document i's source (an index into `names`), `chars[i]` its length in characters.
    With `replay_share`, replay sources are scaled (on top of their weights) so their share of
    characters, a proxy for tokens, matches it.
    """
    weights, replay, roles = weights or {}, replay or set(), roles or {}
    idx = np.asarray(idx, dtype=np.int64)
    g = np.asarray(group)[idx]
    groups = {names[c]: idx[g == c] for c in np.unique(g)}
    is_replay = {n: n in replay or roles.get(n) == "replay" for n in groups}
    factor = {n: float(weights.get(n, 1.0)) for n in groups}
    ch = {n: int(np.asarray(chars)[members].sum()) for n, members in groups.items()}
    if replay_share is not None:
        target = sum(ch[n] * factor[n] for n in groups if not is_replay[n])
        current = sum(ch[n] * factor[n] for n in groups if is_replay[n])
        if current == 0 and replay_share > 0:
            raise UserError("replay_share is set but no corpus has role `replay`")
        if current > 0 and target > 0:
            scale = replay_share / (1 - replay_share) * target / current
            for n in groups:
                if is_replay[n]:
                    factor[n] *= scale
    rng = np.random.default_rng(seed)
    parts, summary = [], {}
    for name in sorted(groups):
        members, f = groups[name], factor[name]
        whole = int(f)
        extra = round((f - whole) * len(members))
        picked = np.concatenate([np.tile(members, whole), rng.choice(members, extra, replace=False) if extra else members[:0]])
        parts.append(picked)
        summary[name] = {"documents": len(picked), "chars": int(np.asarray(chars)[picked].sum()),
                         "factor": round(f, 4), "replay": is_replay[name]}
    total = sum(s["chars"] for s in summary.values()) or 1
    for s in summary.values():
        s["share"] = round(s["chars"] / total, 4)
    mixed = np.concatenate(parts) if parts else np.zeros(0, dtype=np.int64)
    return rng.permutation(mixed), summary


def mix_documents(docs: Sequence[dict], weights: dict[str, float] | None = None, replay: set[str] | None = None,
                  replay_share: float | None = None, seed: int = 0) -> tuple[list[dict], dict]:
    """`mix_indices` on a list of records (each with `text`, optional `source` and `role`)."""
    names: list[str] = []
    code: dict[str, int] = {}
    roles: dict[str, str | None] = {}
    group = np.empty(len(docs), dtype=np.int64)
    for i, d in enumerate(docs):
        name = str(d.get("source") or "corpus")
        if name not in code:
            code[name] = len(names)
            names.append(name)
            roles[name] = d.get("role")
        group[i] = code[name]
    chars = np.array([len(d["text"]) for d in docs], dtype=np.int64)
    order, summary = mix_indices(np.arange(len(docs)), group, names, chars, roles, weights, replay, replay_share, seed)
    return [docs[i] for i in order], summary


def tokenize(tokenizer, texts: Sequence[str], batch_size: int = 512) -> list[list[int]]:
    """Token ids per document, ending with EOS (and starting with BOS when the model has a distinct one)."""
    prefix, suffix = _affixes(tokenizer)
    encode = _encoder(tokenizer)
    out = []
    for i in range(0, len(texts), batch_size):
        out += [prefix + ids + suffix for ids in encode(list(texts[i:i + batch_size]))]
    return out


class StoreSequences(Sequence):
    """Read-only sequence of training examples built on demand from the token store."""

    def __len__(self) -> int:
        raise NotImplementedError

    def _get(self, k: int) -> dict:
        raise NotImplementedError

    def __getitem__(self, k):
        if isinstance(k, slice):
            return [self._get(i) for i in range(*k.indices(len(self)))]
        n = len(self)
        k = int(k) + n if k < 0 else int(k)
        if not 0 <= k < n:
            raise IndexError(k)
        return self._get(k)

    @staticmethod
    def _piece(tokens: np.ndarray) -> tuple[list[int], list[int], list[int]]:
        """A document piece's ids, labels and positions: its first token is not predicted from the previous document."""
        ids = tokens.tolist()
        labels = [IGNORE] + ids[1:]
        return ids, labels, list(range(len(ids)))


class PackedSequences(StoreSequences):
    """Documents in `order` laid end to end and cut every `max_len` tokens; positions restart per document and piece."""

    def __init__(self, store: TokenStore, order: np.ndarray, max_len: int):
        self.store, self.max_len = store, max_len
        self.order = np.asarray(order, dtype=np.int64)
        offsets = np.asarray(store.offsets)
        self._start = offsets[self.order]
        self.cum = np.zeros(len(self.order) + 1, dtype=np.int64)
        np.cumsum(offsets[self.order + 1] - self._start, out=self.cum[1:])
        self.total_tokens = int(self.cum[-1])

    def __len__(self) -> int:
        return -(-self.total_tokens // self.max_len)

    def _get(self, k: int) -> dict:
        lo, hi = k * self.max_len, min(self.total_tokens, (k + 1) * self.max_len)
        j = int(np.searchsorted(self.cum, lo, side="right")) - 1
        out = {"input_ids": [], "labels": [], "position_ids": []}
        while lo < hi:
            a, b = lo - self.cum[j], min(hi, self.cum[j + 1]) - self.cum[j]
            j += 1
            if b <= a:
                continue
            ids, labels, pos = self._piece(self.store.tokens[self._start[j - 1] + a:self._start[j - 1] + b])
            out["input_ids"] += ids
            out["labels"] += labels
            out["position_ids"] += pos
            lo += b - a
        return out


class ChunkedSequences(StoreSequences):
    """Without packing: one sequence per document piece of at most `max_len` tokens (padded later); pieces under 2 tokens are dropped."""

    def __init__(self, store: TokenStore, order: np.ndarray, max_len: int):
        self.store = store
        order = np.asarray(order, dtype=np.int64)
        offsets = np.asarray(store.offsets)
        lens = offsets[order + 1] - offsets[order]
        counts = -(-lens // max_len)
        rep = np.repeat(np.arange(len(order)), counts)
        start = (np.arange(int(counts.sum())) - np.repeat(np.cumsum(counts) - counts, counts)) * max_len
        size = np.minimum(max_len, lens[rep] - start)
        keep = size >= 2
        self.begin = offsets[order[rep[keep]]] + start[keep]
        self.size = size[keep]
        self.total_tokens = int(self.size.sum())

    def __len__(self) -> int:
        return len(self.size)

    def _get(self, k: int) -> dict:
        ids, labels, pos = self._piece(self.store.tokens[self.begin[k]:self.begin[k] + self.size[k]])
        return {"input_ids": ids, "labels": labels, "position_ids": pos}


def pack(docs: Sequence[list[int]], max_len: int) -> list[dict]:
    """Concatenate documents and cut into `max_len` pieces; positions restart at each document (and piece)."""
    return list(PackedSequences(store_from_ids(list(docs)), np.arange(len(docs)), max_len))


def chunk(docs: Sequence[list[int]], max_len: int) -> list[dict]:
    """Without packing: one sequence per document piece of at most `max_len` tokens (padded later)."""
    return list(ChunkedSequences(store_from_ids(list(docs)), np.arange(len(docs)), max_len))


def cpt_sequences(store: TokenStore, max_len: int, packing: bool, validation_fraction: float, seed: int,
                  names: Iterable[str] | None = None, weights: dict[str, float] | None = None,
                  replay: set[str] | None = None, replay_share: float | None = None) -> tuple[StoreSequences, StoreSequences, dict]:
    """Training and validation sequences of a token store, and a summary for the metrics log."""
    idx = select(store, names)
    train_pos, val_pos = split_indices(len(idx), validation_fraction, seed)
    train_docs, val_docs = idx[train_pos], idx[val_pos]
    order, summary = mix_indices(train_docs, store.source, store.sources, store.chars, store.roles,
                                 weights, replay, replay_share, seed)
    shape = PackedSequences if packing else ChunkedSequences
    train, val = shape(store, order, max_len), shape(store, val_docs, max_len)
    info = {"documents": len(idx), "train_documents": len(order), "validation_documents": len(val_docs),
            "train_sequences": len(train), "validation_sequences": len(val), "train_tokens": train.total_tokens,
            "mix": summary, "token_store": str(store.path) if store.path else None}
    return train, val, info
