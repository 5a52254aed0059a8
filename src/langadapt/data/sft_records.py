"""Instruction records: Alpaca, ShareGPT and OpenAI `messages` files, Hub datasets and the built-in task
sets, read as conversations (lists of `{role, content}` messages).

    convs = load_conversations("data.jsonl")          # format detected per record
    msgs = to_messages({"instruction": "...", "output": "..."})

Training renders and tokenises them (`langadapt.train.data_sft`); the data tools (`data translate`,
`data synth`) read and write the same formats, so they live here, below both.
"""

from __future__ import annotations

import json
import os
import re
from itertools import islice
from pathlib import Path
from typing import Iterator

from langadapt.data import doc_tasks, poems
from langadapt.data.continuation import continuation_tasks
from langadapt.data.fetch import fetch
from langadapt.errors import UserError
from langadapt.textio import CorruptFileError, data_suffix, open_text

_SHAREGPT_ROLES = {"human": "user", "user": "user", "gpt": "assistant", "assistant": "assistant",
                   "model": "assistant", "system": "system", "chatgpt": "assistant", "bing": "assistant"}


def detect_format(record: dict) -> str:
    if "messages" in record:
        return "messages"
    if "conversations" in record:
        return "sharegpt"
    if "instruction" in record and "output" in record:
        return "alpaca"
    raise UserError(f"cannot tell the format of a record with keys {sorted(record)[:8]}: "
                    "expected `messages`, `conversations` (ShareGPT) or `instruction`/`output` (Alpaca)")


def to_messages(record: dict, fmt: str = "auto") -> list[dict]:
    """One record in any supported format -> a list of {role, content}."""
    fmt = detect_format(record) if fmt == "auto" else fmt
    if fmt == "alpaca":
        prompt = str(record.get("instruction", "")).strip()
        extra = str(record.get("input") or "").strip()
        if extra:
            prompt = f"{prompt}\n\n{extra}"
        msgs = [{"role": "user", "content": prompt}, {"role": "assistant", "content": str(record["output"])}]
        if record.get("system"):
            msgs.insert(0, {"role": "system", "content": str(record["system"])})
        return msgs
    if fmt == "sharegpt":
        msgs = []
        for turn in record["conversations"]:
            role = _SHAREGPT_ROLES.get(str(turn.get("from", "")).lower())
            if role is None:
                raise UserError(f"ShareGPT turn with unknown speaker {turn.get('from')!r}")
            msgs.append({"role": role, "content": str(turn.get("value", ""))})
        if record.get("system") and not any(m["role"] == "system" for m in msgs):
            msgs.insert(0, {"role": "system", "content": str(record["system"])})
        return msgs
    if fmt == "messages":
        return [{"role": m["role"], "content": str(m.get("content") or "")} for m in record["messages"]]
    raise UserError(f"unknown SFT format {fmt!r}")


def iter_records(path: str | Path) -> Iterator[dict]:
    """Records of a JSONL file one at a time (plain or compressed), or of a JSON array file."""
    path = Path(path)
    if not path.is_file():
        raise UserError(f"{path}: no such SFT data file")
    try:
        with open_text(path) as fh:
            if data_suffix(path) == ".json":
                try:
                    data = json.load(fh)
                except json.JSONDecodeError as exc:
                    raise UserError(f"{path}: not valid JSON ({exc.msg})") from None
                yield from (data if isinstance(data, list) else [data])
                return
            for n, line in enumerate(fh, 1):
                if line.strip():
                    try:
                        yield json.loads(line)
                    except json.JSONDecodeError as exc:
                        raise UserError(f"{path}:{n}: not valid JSON ({exc.msg})") from None
    except CorruptFileError as exc:
        raise UserError(str(exc)) from None


def read_records(path: str | Path) -> list[dict]:
    return list(iter_records(path))


def iter_conversations(path: str | Path, fmt: str = "auto", system_prompt: str | None = None,
                       max_examples: int | None = None) -> Iterator[list[dict]]:
    for rec in islice(iter_records(path), max_examples):
        msgs = to_messages(rec, fmt)
        if system_prompt and not any(m["role"] == "system" for m in msgs):
            msgs.insert(0, {"role": "system", "content": system_prompt})
        yield msgs


def load_conversations(path: str | Path, fmt: str = "auto", system_prompt: str | None = None,
                       max_examples: int | None = None) -> list[list[dict]]:
    return list(iter_conversations(path, fmt, system_prompt, max_examples))


def _remap(record: dict, fields: dict[str, str]) -> dict:
    """Rename the dataset's columns to ours; a list column (e.g. several reference answers) gives its first item."""
    if not fields:
        return record
    out = {k: v for k, v in record.items() if k not in fields.values()}
    for ours, theirs in fields.items():
        value = record.get(theirs)
        if isinstance(value, list) and ours not in ("messages", "conversations"):
            value = value[0] if value else ""
        out[ours] = value
    return out


def split_turns(text: str, markers: dict[str, str]) -> list[dict]:
    """`<human>: hi <bot>: hello` -> messages, cutting at each role's marker."""
    by_marker = {m: role for role, m in markers.items()}
    pattern = "(" + "|".join(re.escape(m) for m in sorted(by_marker, key=len, reverse=True)) + ")"
    parts = re.split(pattern, text)
    msgs, role = [], None
    for part in parts:
        if part in by_marker:
            role = by_marker[part]
        elif role and part.strip():
            msgs.append({"role": role, "content": part.strip()})
    return msgs


def load_hf_conversations(spec, system_prompt: str | None = None, base_dir: Path | None = None) -> list[list[dict]]:
    """Conversations from a Hub dataset (or a local dataset folder) through `datasets.load_dataset`."""
    import datasets  # an optional extra that takes seconds to import: only for Hub datasets

    ref = spec.hf_dataset
    local = Path(ref).expanduser()
    if not local.is_absolute() and base_dir is not None and (base_dir / local).exists():
        local = base_dir / local
    source = str(local) if local.exists() else ref
    try:
        ds = datasets.load_dataset(source, spec.hf_config, split=spec.hf_split, data_files=spec.hf_data_files)
    except Exception as exc:  # the Hub client raises many types for "no network" / "no such repo"
        offline = os.environ.get("HF_HUB_OFFLINE") == "1" or os.environ.get("HF_DATASETS_OFFLINE") == "1"
        why = "offline mode (HF_HUB_OFFLINE=1)" if offline else f"{type(exc).__name__}: {str(exc).splitlines()[0][:200]}"
        raise UserError(f"sft dataset {ref!r} could not be loaded ({why}); it needs network on first use, "
                        "or download it and point `path` at a JSONL copy") from None
    if spec.max_examples:
        ds = ds.select(range(min(spec.max_examples, len(ds))))
    convs = []
    for rec in ds:
        rec = _remap(dict(rec), spec.fields)
        if spec.turn_markers:
            msgs = split_turns(str(rec.get("text", "")), spec.turn_markers)
            if not any(m["role"] == "assistant" for m in msgs):
                continue
        else:
            msgs = to_messages(rec, spec.format)
        if system_prompt and not any(m["role"] == "system" for m in msgs):
            msgs.insert(0, {"role": "system", "content": system_prompt})
        convs.append(msgs)
    if not convs:
        raise UserError(f"sft dataset {ref!r}: no usable conversations (check `fields` / `turn_markers`)")
    return convs


def _dz_continuation(limit: int | None) -> list[dict]:
    """Continuation instructions from the Tibetan-script LibreOffice help (`langadapt data fetch dz-text`)."""
    path = fetch("dz-text") / "dz.jsonl"
    texts = [json.loads(line)["text"] for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return continuation_tasks(texts, "dz", limit=limit)


def builtin_conversations(name: str, heldout: str | None, seed: int, max_examples: int | None) -> list[list[dict]]:
    """Built-in task sets made from held-out documents of the clean stage."""
    if name == "dz-continuation":
        return [to_messages(r) for r in _dz_continuation(max_examples)]
    if name == "zh-tw-doc-qa":
        # pages of the fetched zh-tw-help / zh-tw-man sources; eval-side pages never give an item here
        return [to_messages(r) for r in doc_tasks.build_tasks(limit=max_examples)]
    poem_sets = {"poem-tasks": ("next-line", "author-mc"), "poem-next-line": ("next-line",)}
    if name not in poem_sets:
        raise UserError(f"unknown built-in SFT data {name!r} (known: {', '.join(poem_sets)}, dz-continuation, zh-tw-doc-qa)")
    # Without the clean stage's held-out file, poems builds from its own held-out split of the fetched corpus.
    records = poems.build_tasks(heldout, seed=seed, limit=max_examples, tasks=poem_sets[name])
    return [to_messages(r) for r in records]
