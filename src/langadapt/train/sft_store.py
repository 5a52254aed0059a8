"""Instruction data encoded once, to disk: token ids and a loss mask per conversation in a memory-mapped
store that restarts, other processes and later runs reuse; weighting, the validation split and packing
then work on example indices.

    train, val, info = sft_sequences(cfg, tokenizer, template, heldout=None, base_dir=None)
    train[k]     # {"input_ids", "labels", "position_ids"}, read from the memory map

The store (`$LANGADAPT_CACHE/sft-tokens/<key>`) holds `tokens.bin` (uint16/uint32), `mask.bin` (one byte a
token: 1 where the assistant's tokens are learned), example offsets, and per-example label counts. Its key
hashes the tokenizer, the chat template, max_seq_length, the system prompt and every dataset (a file by
path, size and modification time; a built-in set by name, size, seed and its held-out file). A Hub dataset
has no cheap content fingerprint here, so a recipe with one is encoded afresh by each run and process.
Files are read as a stream, a batch of conversations at a time (`BATCH`), each batch tokenized by the fast
tokenizer's batch encoder across the CPU cores; the chat template is rendered in Python, turn by turn.
"""

from __future__ import annotations

import hashlib
import json
import random
import shutil
import tempfile
from array import array
from itertools import chain, islice
from pathlib import Path
from typing import Iterator

import numpy as np

from langadapt import __version__
from langadapt.atomic import atomic_dir
from langadapt.data import sft_records
from langadapt.errors import UserError
from langadapt.paths import cache_dir
from langadapt.train import data_sft
from langadapt.train.data_cpt import StoreSequences, sample_by_weight
from langadapt.train.shards import tokenizer_fingerprint

VERSION = 1
BATCH = 256
IGNORE = -100


class SftStore:
    def __init__(self, folder: Path):
        meta = json.loads((folder / "meta.json").read_text(encoding="utf-8"))
        n = int(meta["tokens"])
        self.tokens = np.memmap(folder / "tokens.bin", dtype=meta["dtype"], mode="r", shape=(n,)) if n else np.zeros(0, np.uint32)
        self.mask = np.memmap(folder / "mask.bin", dtype=np.uint8, mode="r", shape=(n,)) if n else np.zeros(0, np.uint8)
        self.offsets = np.load(folder / "offsets.npy")
        self.learned = np.load(folder / "learned.npy")
        self.part = np.load(folder / "part.npy")
        self.conversations = list(meta["conversations"])
        self.path = folder

    def __len__(self) -> int:
        return len(self.offsets) - 1

    def lengths(self) -> np.ndarray:
        return np.diff(self.offsets)

    def example(self, i: int) -> tuple[list[int], list[int]]:
        ids = self.tokens[self.offsets[i]:self.offsets[i + 1]].tolist()
        mask = self.mask[self.offsets[i]:self.offsets[i + 1]].tolist()
        return ids, [t if m else IGNORE for t, m in zip(ids, mask)]


def _resolve(spec, base_dir: Path | None) -> Path:
    path = Path(spec.path)
    return base_dir / path if not path.is_absolute() and base_dir is not None else path


def _conversations(spec, cfg, heldout: str | None, base_dir: Path | None) -> Iterator[list[dict]]:
    if spec.builtin:
        part = sft_records.builtin_conversations(spec.builtin, heldout, cfg.seed, spec.max_examples)
    elif spec.path:
        part = sft_records.iter_conversations(_resolve(spec, base_dir), spec.format, cfg.system_prompt, spec.max_examples)
    elif spec.hf_dataset:
        part = sft_records.load_hf_conversations(spec, cfg.system_prompt, base_dir)
    else:
        raise UserError("sft.datasets entry needs `path`, `hf_dataset` or `builtin`")
    for c in part:
        if cfg.system_prompt and not any(m["role"] == "system" for m in c):
            c = [{"role": "system", "content": cfg.system_prompt}] + c
        yield c


def _key(cfg, tokenizer, template: str, heldout: str | None, base_dir: Path | None) -> str | None:
    """Content key of the store, or None when a dataset has no cheap fingerprint (a Hub dataset)."""
    parts: list = [VERSION, tokenizer_fingerprint(tokenizer), template, cfg.max_seq_length, cfg.system_prompt]
    for spec in cfg.datasets:
        if spec.hf_dataset and not spec.path and not spec.builtin:
            return None
        entry = spec.model_dump(mode="json")
        if spec.path:
            path = _resolve(spec, base_dir)
            if not path.is_file():
                raise UserError(f"{path}: no such SFT data file")
            st = path.stat()
            entry["file"] = [str(path.resolve()), st.st_size, st.st_mtime_ns]
        else:  # built-in sets are made from the held-out file by this version's code
            held = Path(heldout) if heldout else None
            entry["built"] = [__version__, cfg.seed, [str(held), held.stat().st_size, held.stat().st_mtime_ns]
                              if held and held.is_file() else None]
        parts.append(entry)
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()[:20]


def write_sft_store(cfg, tokenizer, template: str, folder: Path, heldout: str | None, base_dir: Path | None) -> None:
    dtype = np.uint16 if len(tokenizer) <= 65535 else np.uint32
    offsets, learned, part = array("q", [0]), array("q"), array("i")
    conversations = []
    total = 0
    with (folder / "tokens.bin").open("wb") as tok_out, (folder / "mask.bin").open("wb") as mask_out:
        for p, spec in enumerate(cfg.datasets):
            convs = _conversations(spec, cfg, heldout, base_dir)
            seen = 0
            while batch := list(islice(convs, BATCH)):
                seen += len(batch)
                for ex in data_sft.encode_batch(tokenizer, batch, template, cfg.max_seq_length):
                    if ex is None:
                        continue
                    tok_out.write(np.asarray(ex["input_ids"], dtype=dtype).tobytes())
                    mask_out.write(np.fromiter((lab != IGNORE for lab in ex["labels"]), dtype=np.uint8,
                                               count=len(ex["labels"])).tobytes())
                    total += len(ex["input_ids"])
                    offsets.append(total)
                    learned.append(sum(1 for lab in ex["labels"] if lab != IGNORE))
                    part.append(p)
            conversations.append(seen)
    np.save(folder / "offsets.npy", np.frombuffer(offsets, dtype=np.int64))
    np.save(folder / "learned.npy", np.frombuffer(learned, dtype=np.int64))
    np.save(folder / "part.npy", np.frombuffer(part, dtype=np.int32))
    (folder / "meta.json").write_text(json.dumps({"version": VERSION, "dtype": np.dtype(dtype).name, "tokens": total,
                                                  "conversations": conversations}), encoding="utf-8")


def sft_store(cfg, tokenizer, template: str, heldout: str | None = None, base_dir: Path | None = None,
              cache: Path | None = None) -> SftStore:
    root = Path(cache) if cache is not None else cache_dir("sft-tokens")
    key = _key(cfg, tokenizer, template, heldout, base_dir)
    if key is None:
        tmp = Path(tempfile.mkdtemp(prefix=".uncached-", dir=root))
        try:
            write_sft_store(cfg, tokenizer, template, tmp, heldout, base_dir)
            return SftStore(tmp)  # the maps stay valid after the folder is removed
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    folder = root / key
    if not (folder / "meta.json").is_file():
        with atomic_dir(folder) as tmp:
            write_sft_store(cfg, tokenizer, template, tmp, heldout, base_dir)
    return SftStore(folder)


class SftSequences(StoreSequences):
    """Examples in `order`, one per sequence, or packed whole side by side up to `max_len` (never split)."""

    def __init__(self, store: SftStore, order: np.ndarray, max_len: int, packed: bool):
        self.store = store
        self.order = np.asarray(order, dtype=np.int64)
        lengths = store.lengths()[self.order]
        if packed:
            starts, cur = [0], 0
            for k, n in enumerate(lengths.tolist()):
                if cur and cur + n > max_len:
                    starts.append(k)
                    cur = 0
                cur += n
            self.starts = np.array(starts + [len(self.order)], dtype=np.int64) if len(self.order) else np.zeros(1, np.int64)
        else:
            self.starts = np.arange(len(self.order) + 1, dtype=np.int64)
        self.total_tokens = int(lengths.sum())

    def __len__(self) -> int:
        return len(self.starts) - 1

    def _get(self, k: int) -> dict:
        parts = [self.store.example(int(i)) for i in self.order[self.starts[k]:self.starts[k + 1]]]
        return {"input_ids": list(chain.from_iterable(ids for ids, _ in parts)),
                "labels": list(chain.from_iterable(labels for _, labels in parts)),
                "position_ids": list(chain.from_iterable(range(len(ids)) for ids, _ in parts))}


def sft_sequences(cfg, tokenizer, template: str, heldout: str | None = None, base_dir: Path | None = None,
                  cache: Path | None = None):
    """Training and validation sequences (views on the store) and a summary for the metrics log."""
    from accelerate import PartialState

    if not cfg.datasets:
        raise UserError("sft: no datasets (set sft.datasets: [{path: data.jsonl}] or pass --data FILE)")
    with PartialState().main_process_first():
        store = sft_store(cfg, tokenizer, template, heldout, base_dir, cache)
    if not len(store):
        raise UserError("sft: no example has assistant tokens within max_seq_length")
    examples: list[int] = []
    for p, spec in enumerate(cfg.datasets):
        mine = np.flatnonzero(store.part == p).tolist()
        examples += sample_by_weight(mine, spec.weight, random.Random(cfg.seed)) if spec.weight != 1.0 else mine
    order = list(range(len(examples)))
    random.Random(cfg.seed).shuffle(order)
    n = len(examples)
    n_val = 0 if cfg.validation_fraction <= 0 or n < 2 else max(1, round(cfg.validation_fraction * n))
    ex = np.asarray(examples, dtype=np.int64)
    val_idx, train_idx = ex[np.asarray(order[:n_val], dtype=np.int64)], ex[np.asarray(order[n_val:], dtype=np.int64)]
    train = SftSequences(store, train_idx, cfg.max_seq_length, cfg.packing)
    val = SftSequences(store, val_idx, cfg.max_seq_length, cfg.packing)
    info = {"conversations": sum(store.conversations), "train_examples": len(train_idx), "validation_examples": len(val_idx),
            "train_sequences": len(train), "assistant_tokens": int(store.learned[train_idx].sum()),
            "token_store": None if store.path.name.startswith(".uncached-") else str(store.path)}
    return train, val, info
