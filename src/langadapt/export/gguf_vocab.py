"""The tokenizer half of a GGUF file: vocabulary, merges, token types and the pre-tokenizer name.

    from langadapt.export.gguf_vocab import read_vocab
    vocab = read_vocab("exports/demo", n_rows=49216)      # a GGUFVocab, written by export/gguf.py

Read from the checkpoint's tokenizer.json, which is what the transformers model uses, so the file
describes that tokenizer and nothing else. Two kinds are handled: byte-level BPE (GPT-2, Llama-3,
SmolLM) and SentencePiece-style BPE with byte fallback (Llama-2, Mistral), extended or not.

Why the pre-tokenizer is named from its rules and not from a probe hash: llama.cpp's own converter
recognises a byte-level tokenizer by hashing how it encodes a fixed text, so a tokenizer with new
merges (ours: the split rules untouched, merges appended) no longer matches any known hash and is
refused. llama.cpp only needs the name of the split rules (`tokenizer.ggml.pre`), and those are
read here directly from tokenizer.json's pre_tokenizer; an unknown rule set is an error that names
`--gguf-pre`, never a silent guess.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from langadapt.errors import UserError

# llama.cpp's token types (gguf.TokenType), spelled out so this module needs gguf only in gguf.py.
NORMAL, UNKNOWN, CONTROL, USER_DEFINED, UNUSED, BYTE = 1, 2, 3, 4, 5, 6

# Split rules of the byte-level pre-tokenizers llama.cpp knows, by the name it reads them under.
# Llama-3's rule; the Qwen-2 rule differs only in splitting digits one by one.
_LLAMA3_SPLIT = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}"
                 r"| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+")
_QWEN2_SPLIT = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}"
                r"| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+")
SPLIT_NAMES = {_LLAMA3_SPLIT: "llama-bpe", _QWEN2_SPLIT: "qwen2"}


@dataclass
class GGUFVocab:
    model: str
    """`gpt2` (byte-level BPE) or `llama` (SentencePiece-style, byte fallback)."""
    tokens: list[str]
    types: list[int]
    merges: list[str]
    scores: list[float] | None = None
    pre: str | None = None
    add_space_prefix: bool = False
    special_ids: dict[str, int] = field(default_factory=dict)
    add_bos: bool = False
    add_eos: bool = False
    chat_template: str | None = None
    padded: int = 0
    """Rows of the embedding matrix past the tokenizer, written as unused `[PAD<i>]` tokens."""


def _merge_text(merge) -> str:
    pair = merge if isinstance(merge, (list, tuple)) else merge.split(" ", 1)
    if any(" " in part for part in pair):
        raise UserError(f"merge {pair!r} has a space inside a piece; GGUF stores merges as 'left right' text")
    return f"{pair[0]} {pair[1]}"


def _parts(pre: dict | None) -> list[dict]:
    if not pre:
        return []
    return list(pre.get("pretokenizers") or []) if pre.get("type") == "Sequence" else [pre]


def _is_byte_level(spec: dict) -> bool:
    return any(p.get("type") == "ByteLevel" for p in _parts(spec.get("pre_tokenizer")))


def pre_tokenizer_name(spec: dict) -> str:
    """llama.cpp's name for the split rules of a byte-level tokenizer.json, or a UserError saying what was found."""
    parts = _parts(spec.get("pre_tokenizer"))
    kinds = [p.get("type") for p in parts]
    if kinds == ["ByteLevel"] and parts[0].get("use_regex", True) and not parts[0].get("add_prefix_space"):
        return "gpt-2"
    if (kinds == ["Digits", "ByteLevel"] and parts[0].get("individual_digits")
            and parts[1].get("use_regex", True) and not parts[1].get("add_prefix_space")):
        return "smollm"
    if kinds == ["Split", "ByteLevel"] and not parts[1].get("use_regex", True):
        pattern = (parts[0].get("pattern") or {}).get("Regex")
        if pattern in SPLIT_NAMES and parts[0].get("behavior") == "Isolated":
            return SPLIT_NAMES[pattern]
    shown = json.dumps(spec.get("pre_tokenizer"), ensure_ascii=False)[:300]
    raise UserError(f"no llama.cpp pre-tokenizer is known for this tokenizer's split rules ({shown}); "
                    "pass its llama.cpp name with --gguf-pre (export.gguf_pre in a recipe), e.g. llama-bpe, qwen2, gpt-2")


def _space_prefix(spec: dict) -> bool:
    for part in _parts(spec.get("pre_tokenizer")):
        if part.get("type") == "Metaspace":
            return part.get("prepend_scheme", "always") != "never" and part.get("add_prefix_space", True)
    norm = spec.get("normalizer") or {}
    steps = norm.get("normalizers") or [norm]
    return any(s.get("type") == "Prepend" for s in steps)


def _is_metaspace(spec: dict) -> bool:
    norm = spec.get("normalizer") or {}
    steps = norm.get("normalizers") or [norm]
    replaces_space = any(s.get("type") == "Replace" and s.get("content") == "\u2581" for s in steps)
    return replaces_space or any(p.get("type") == "Metaspace" for p in _parts(spec.get("pre_tokenizer")))


def _merge_scores(tokens: list[str], merges: list[str]) -> list[float]:
    """SentencePiece scores that make llama.cpp merge in tokenizer.json's order: earlier merge, higher score."""
    rank: dict[str, int] = {}
    for k, merge in enumerate(merges):
        rank.setdefault(merge.replace(" ", ""), k)
    return [-float(rank[t]) if t in rank else 0.0 for t in tokens]


def read_vocab(folder: str | Path, n_rows: int, pre: str | None = None) -> GGUFVocab:
    """The vocabulary of the tokenizer saved in `folder`, padded to the model's `n_rows` embedding rows."""
    from transformers import AutoTokenizer

    folder = Path(folder)
    path = folder / "tokenizer.json"
    if not path.is_file():
        raise UserError(f"{folder}: no tokenizer.json; GGUF export needs the fast tokenizer file")
    spec = json.loads(path.read_text(encoding="utf-8"))
    model = spec.get("model") or {}
    if model.get("type") != "BPE":
        raise UserError(f"{path}: tokenizer model is {model.get('type')!r}; GGUF export handles BPE "
                        "(byte-level, or SentencePiece-style with byte fallback)")
    tok = AutoTokenizer.from_pretrained(folder)
    by_id = {i: t for t, i in model["vocab"].items()}
    added = {a["id"]: a for a in spec.get("added_tokens") or []}
    size = max([*by_id, *added], default=-1) + 1
    if size > n_rows:
        raise UserError(f"{folder}: the tokenizer has {size} tokens but the model only {n_rows} embedding rows")
    byte_level = _is_byte_level(spec)
    if not byte_level and not (model.get("byte_fallback") and _is_metaspace(spec)):
        raise UserError(f"{path}: neither a byte-level BPE nor a SentencePiece-style BPE with byte fallback; "
                        "GGUF export does not handle this tokenizer")
    tokens, types = [], []
    # A SentencePiece vocabulary's <unk> is found by its type in llama.cpp, even where tokenizer.json lists it as
    # an added special token; a byte-level one has no real unknown token (its `unk` is a control token).
    unk_id = None if byte_level else tok.unk_token_id
    for i in range(n_rows):
        if i == unk_id:
            tokens.append(tok.unk_token)
            types.append(UNKNOWN)
        elif i in added:
            tokens.append(added[i]["content"])
            types.append(CONTROL if added[i].get("special") else USER_DEFINED)
        elif i in by_id:
            text = by_id[i]
            tokens.append(text)
            if not byte_level and len(text) == 6 and text.startswith("<0x") and text.endswith(">"):
                types.append(BYTE)
            else:
                types.append(NORMAL)
        else:
            tokens.append(f"[PAD{i}]")
            types.append(UNUSED)
    merges = [_merge_text(m) for m in model.get("merges") or []]
    vocab = GGUFVocab(model="gpt2" if byte_level else "llama", tokens=tokens, types=types, merges=merges,
                      padded=n_rows - size, chat_template=getattr(tok, "chat_template", None) or None)
    if byte_level:
        vocab.pre = pre or pre_tokenizer_name(spec)
    else:
        vocab.scores = _merge_scores(tokens, merges)
        vocab.add_space_prefix = _space_prefix(spec)
    for name in ("bos", "eos", "unk", "pad"):
        token_id = getattr(tok, f"{name}_token_id", None)
        if token_id is not None:
            vocab.special_ids[name] = int(token_id)
    # What the tokenizer really does, not what its config claims: encode a word and look.
    probe = tok("a").input_ids
    vocab.add_bos = bool(probe) and tok.bos_token_id is not None and probe[0] == tok.bos_token_id
    vocab.add_eos = len(probe) > 1 and tok.eos_token_id is not None and probe[-1] == tok.eos_token_id
    return vocab
