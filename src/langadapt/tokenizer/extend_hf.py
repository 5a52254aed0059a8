"""Write an extended `tokenizer.json`: base vocabulary and merges untouched, new ones appended.

    from langadapt.tokenizer.extend_hf import extend_tokenizer_json, save_tokenizer
    ext, pieces = extend_tokenizer_json(base_tj, learned)
    save_tokenizer(base_hf_tokenizer, ext, out_dir)

New ids start after the largest id in use, counting added/special tokens, which may sit inside or
after the model's own range (SmolLM2 keeps its specials at 0-16 inside the vocabulary; Llama-3 keeps
256 reserved specials after it). Normalizer, pre-tokenizer, decoder, post-processor, added tokens
and the chat template are carried over as they are.
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

from langadapt.atomic import write_text
from langadapt.errors import UserError
from langadapt.tokenizer.learn_bpe import LearnedPieces
from langadapt.tokenizer.pieces import TokenizerJson

log = logging.getLogger(__name__)


def apply_pieces(base: TokenizerJson, pieces: list[str], merges: list[tuple[str, str]]) -> TokenizerJson:
    out = base.copy()
    next_id = base.max_id + 1
    for piece in pieces:
        out.vocab[piece] = next_id
        next_id += 1
    as_strings = bool(base.model["merges"]) and isinstance(base.model["merges"][0], str)
    out.model["merges"] = list(base.model["merges"]) + [f"{a} {b}" if as_strings else [a, b] for a, b in merges]
    return out


def unreachable_pieces(ext: TokenizerJson, pieces: list[str]) -> list[str]:
    """New pieces that the BPE model does not produce when given exactly their own spelling."""
    if not pieces:
        return []
    model = ext.model_only()
    encodings = model.encode_batch(pieces, add_special_tokens=False)
    vocab = ext.vocab
    return [p for p, enc in zip(pieces, encodings) if enc.ids != [vocab[p]]]


def extend_tokenizer_json(base: TokenizerJson, learned: LearnedPieces,
                          max_rounds: int = 10) -> tuple[TokenizerJson, list[str]]:
    """The extended tokenizer.json and its new pieces in id order, every one of them reachable."""
    base.check_supported()
    clash = {t["content"] for t in base.data.get("added_tokens", [])} & set(learned.new_pieces)
    pieces = [p for p in learned.new_pieces if p not in clash and p not in base.vocab]
    merges = list(learned.merges)
    for _ in range(max_rounds):
        ext = apply_pieces(base, pieces, merges)
        bad = set(unreachable_pieces(ext, pieces))
        if not bad:
            return ext, pieces
        log.info("dropping %d unreachable pieces", len(bad))
        # A merge that makes or uses a dropped piece can never fire as learned; later merges may
        # have depended on it, hence the next round.
        pieces = [p for p in pieces if p not in bad]
        merges = [(a, b) for a, b in merges if a not in bad and b not in bad and a + b not in bad]
    raise UserError("could not make every new piece reachable; try fewer new tokens")


def save_tokenizer(base_tokenizer: Any, ext: TokenizerJson, out_dir: str | os.PathLike) -> Any:
    """Save the base tokenizer's files with the extended tokenizer.json, then reload it to check it loads."""
    from transformers import AutoTokenizer

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        base_tokenizer.save_pretrained(tmp)
        for item in Path(tmp).iterdir():
            # A SentencePiece model would contradict the extended vocabulary; extend_spm writes its own.
            if item.name in {"tokenizer.json", "tokenizer.model", "vocab.json", "merges.txt"}:
                continue
            shutil.copy2(item, out / item.name)
    import json

    write_text(out / "tokenizer.json", json.dumps(ext.data, ensure_ascii=False, indent=2))
    loaded = AutoTokenizer.from_pretrained(str(out))
    expected = ext.max_id + 1
    if len(loaded) != expected:
        raise UserError(f"extended tokenizer loads with {len(loaded)} tokens, expected {expected}")
    return loaded
