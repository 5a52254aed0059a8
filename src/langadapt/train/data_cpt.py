"""Continual-pretraining data: read cleaned shards, mix corpora by weight (with a replay share), split off
validation documents, tokenize, and pack with document boundaries kept.

    docs = read_documents("runs/x/clean/corpus")
    train, val = split_validation(docs, 0.01, seed=42)
    train = mix_documents(train, weights={"poems": 1.0, "english": 0.5}, replay={"english"}, replay_share=0.2)
    seqs = pack(tokenize(tokenizer, [d["text"] for d in train]), max_len=1024)

A packed sequence carries `position_ids` that restart at every document start; with no attention mask,
transformers turns those into per-document (block-diagonal causal) attention on sdpa/eager and into
variable-length attention on flash-attention, so no token attends across documents.
"""

from __future__ import annotations

import json
import random
from collections import defaultdict
from pathlib import Path
from typing import Iterable, Sequence

from langadapt.errors import UserError

IGNORE = -100


def read_documents(path: str | Path, names: Iterable[str] | None = None) -> list[dict]:
    """Records of every `*.jsonl` under `path` (or the file itself), optionally only some sources."""
    path = Path(path)
    files = [path] if path.is_file() else sorted(path.glob("**/*.jsonl"))
    if not files:
        raise UserError(f"{path}: no JSONL shards found (expected the clean stage's corpus folder or a .jsonl file)")
    wanted = set(names) if names else None
    docs = []
    for f in files:
        with f.open(encoding="utf-8") as fh:
            for n, line in enumerate(fh, 1):
                if not line.strip():
                    continue
                try:
                    rec = json.loads(line)
                except json.JSONDecodeError as exc:
                    raise UserError(f"{f}:{n}: not valid JSON ({exc.msg})") from None
                text = rec.get("text")
                if not isinstance(text, str) or not text.strip():
                    continue
                if wanted is not None and rec.get("source") not in wanted:
                    continue
                docs.append(rec)
    if not docs:
        raise UserError(f"{path}: no documents with a `text` field" + (f" from corpora {sorted(wanted)}" if wanted else ""))
    return docs


def split_validation(docs: Sequence[dict], fraction: float, seed: int) -> tuple[list[dict], list[dict]]:
    """Hold out whole documents (never pieces of a training document) for validation."""
    order = list(range(len(docs)))
    random.Random(seed).shuffle(order)
    n_val = 0 if fraction <= 0 or len(docs) < 2 else max(1, round(fraction * len(docs)))
    val_idx = set(order[:n_val])
    train = [d for i, d in enumerate(docs) if i not in val_idx]
    val = [d for i, d in enumerate(docs) if i in val_idx]
    return train, val


def _sample(docs: list[dict], factor: float, rng: random.Random) -> list[dict]:
    """`factor` 2.5 -> two full copies plus a random half; 0.3 -> a random 30%."""
    whole = int(factor)
    out = docs * whole
    extra = round((factor - whole) * len(docs))
    if extra:
        out += rng.sample(docs, extra)
    return out


def mix_documents(docs: Sequence[dict], weights: dict[str, float] | None = None, replay: set[str] | None = None,
                  replay_share: float | None = None, seed: int = 0) -> tuple[list[dict], dict]:
    """Resample documents per source by weight; returns the shuffled mix and a summary of shares.

    With `replay_share`, replay sources are scaled (on top of their weights) so their share of
    characters, a proxy for tokens, matches it.
    """
    weights = weights or {}
    replay = replay or set()
    groups: dict[str, list[dict]] = defaultdict(list)
    for d in docs:
        groups[str(d.get("source") or "corpus")].append(d)
    is_replay = {name: name in replay or any(d.get("role") == "replay" for d in g[:1]) for name, g in groups.items()}
    factor = {name: float(weights.get(name, 1.0)) for name in groups}
    chars = {name: sum(len(d["text"]) for d in g) for name, g in groups.items()}
    if replay_share is not None:
        target = sum(chars[n] * factor[n] for n in groups if not is_replay[n])
        current = sum(chars[n] * factor[n] for n in groups if is_replay[n])
        if current == 0 and replay_share > 0:
            raise UserError("replay_share is set but no corpus has role `replay`")
        if current > 0 and target > 0:
            scale = replay_share / (1 - replay_share) * target / current
            for n in groups:
                if is_replay[n]:
                    factor[n] *= scale
    rng = random.Random(seed)
    mixed: list[dict] = []
    summary = {}
    for name in sorted(groups):
        picked = _sample(groups[name], factor[name], rng)
        mixed += picked
        summary[name] = {"documents": len(picked), "chars": sum(len(d["text"]) for d in picked),
                         "factor": round(factor[name], 4), "replay": is_replay[name]}
    total = sum(s["chars"] for s in summary.values()) or 1
    for s in summary.values():
        s["share"] = round(s["chars"] / total, 4)
    rng.shuffle(mixed)
    return mixed, summary


def tokenize(tokenizer, texts: Sequence[str], batch_size: int = 512) -> list[list[int]]:
    """Token ids per document, ending with EOS (and starting with BOS when the model has a distinct one)."""
    bos = tokenizer.bos_token_id
    eos = tokenizer.eos_token_id
    prefix = [bos] if bos is not None and bos != eos else []
    suffix = [eos] if eos is not None else []
    out = []
    for i in range(0, len(texts), batch_size):
        enc = tokenizer(list(texts[i:i + batch_size]), add_special_tokens=False)["input_ids"]
        out += [prefix + ids + suffix for ids in enc]
    return out


def _segment(ids: list[int]) -> tuple[list[int], list[int]]:
    """Labels and positions of one document piece: the first token is not predicted from the previous document."""
    labels = list(ids)
    labels[0] = IGNORE
    return labels, list(range(len(ids)))


def pack(docs: Sequence[list[int]], max_len: int) -> list[dict]:
    """Concatenate documents and cut into `max_len` pieces; positions restart at each document (and piece)."""
    seqs: list[dict] = []
    cur = {"input_ids": [], "labels": [], "position_ids": []}
    for ids in docs:
        while ids:
            room = max_len - len(cur["input_ids"])
            piece, ids = ids[:room], ids[room:]
            labels, pos = _segment(piece)
            cur["input_ids"] += piece
            cur["labels"] += labels
            cur["position_ids"] += pos
            if len(cur["input_ids"]) == max_len:
                seqs.append(cur)
                cur = {"input_ids": [], "labels": [], "position_ids": []}
    if cur["input_ids"]:
        seqs.append(cur)
    return seqs


def chunk(docs: Sequence[list[int]], max_len: int) -> list[dict]:
    """Without packing: one sequence per document piece of at most `max_len` tokens (padded later)."""
    seqs = []
    for ids in docs:
        for start in range(0, len(ids), max_len):
            piece = ids[start:start + max_len]
            if len(piece) < 2:
                continue
            labels, pos = _segment(piece)
            seqs.append({"input_ids": piece, "labels": labels, "position_ids": pos})
    return seqs
