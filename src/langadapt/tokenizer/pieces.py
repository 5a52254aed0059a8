"""What a BPE piece means in bytes, for the two families of HF BPE tokenizers.

    from langadapt.tokenizer.pieces import TokenizerJson
    tj = TokenizerJson.from_tokenizer(hf_tokenizer)
    tj.piece_bytes("Ġhello")   # b" hello" (byte-level)   tj.piece_bytes("▁hello") -> b" hello" (metaspace)

Byte-level tokenizers (GPT-2, Llama-3, Qwen, SmolLM2) write every byte as one printable character;
metaspace tokenizers (Llama-2 as loaded by transformers) write spaces as `▁` and unknown characters
as `<0xNN>` byte-fallback pieces. Everything that reasons about pieces goes through this view.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import cached_property
from typing import Any, Iterable

from langadapt.errors import UserError

METASPACE = "\u2581"
_BYTE_PIECE = re.compile(r"^<0x([0-9A-Fa-f]{2})>$")


def bytes_to_unicode() -> dict[int, str]:
    """GPT-2's reversible byte -> printable character table used by byte-level BPE."""
    printable = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    table, extra = {}, 0
    for b in range(256):
        if b in printable:
            table[b] = chr(b)
        else:
            table[b] = chr(256 + extra)
            extra += 1
    return table


_BYTE_DECODER = {c: b for b, c in bytes_to_unicode().items()}


def _types(component: dict | None) -> list[dict]:
    """Flatten a (possibly Sequence) normalizer/pre-tokenizer/decoder into its parts."""
    if not component:
        return []
    if component.get("type") == "Sequence":
        inner = component.get("pretokenizers") or component.get("normalizers") or component.get("decoders") or []
        return [part for sub in inner for part in _types(sub)]
    return [component]


@dataclass
class TokenizerJson:
    """A parsed `tokenizer.json` of a BPE tokenizer, with the facts extension needs."""

    data: dict[str, Any]

    @classmethod
    def from_tokenizer(cls, tokenizer: Any) -> "TokenizerJson":
        backend = getattr(tokenizer, "backend_tokenizer", None) or getattr(tokenizer, "_tokenizer", None) or tokenizer
        if not hasattr(backend, "to_str"):
            raise UserError(f"{type(tokenizer).__name__} has no fast (tokenizers) backend; continued BPE needs one")
        return cls(json.loads(backend.to_str()))

    @classmethod
    def from_file(cls, path: str) -> "TokenizerJson":
        with open(path, encoding="utf-8") as fh:
            return cls(json.load(fh))

    def copy(self) -> "TokenizerJson":
        """A copy whose vocabulary, merges and added tokens can be changed without touching this one."""
        data = dict(self.data)
        model = dict(data["model"])
        model["vocab"] = dict(model["vocab"])
        model["merges"] = list(model["merges"])
        data["model"] = model
        data["added_tokens"] = [dict(t) for t in data.get("added_tokens", [])]
        return TokenizerJson(data)

    @property
    def model(self) -> dict[str, Any]:
        return self.data["model"]

    @property
    def vocab(self) -> dict[str, int]:
        return self.model["vocab"]

    @property
    def merges(self) -> list[tuple[str, str]]:
        # tokenizers writes merges as [a, b] pairs (older files: "a b" strings).
        return [tuple(m) if not isinstance(m, str) else tuple(m.split(" ", 1)) for m in self.model["merges"]]

    def check_supported(self) -> None:
        if self.model.get("type") != "BPE":
            raise UserError(f"continued BPE needs a BPE tokenizer, this one is {self.model.get('type')}")
        if self.model.get("continuing_subword_prefix") or self.model.get("end_of_word_suffix"):
            raise UserError("BPE tokenizers with subword prefixes/suffixes are not supported")

    @cached_property
    def byte_level(self) -> bool:
        parts = _types(self.data.get("pre_tokenizer")) + _types(self.data.get("decoder"))
        return any(p.get("type") == "ByteLevel" for p in parts)

    @property
    def byte_fallback(self) -> bool:
        return bool(self.model.get("byte_fallback"))

    @property
    def max_id(self) -> int:
        ids = list(self.vocab.values()) + [t["id"] for t in self.data.get("added_tokens", [])]
        return max(ids)

    def piece_bytes(self, piece: str) -> bytes | None:
        """The bytes a piece stands for; None for special pieces that are no text."""
        if self.byte_level:
            try:
                return bytes(_BYTE_DECODER[c] for c in piece)
            except KeyError:
                return None
        match = _BYTE_PIECE.match(piece)
        if match:
            return bytes([int(match.group(1), 16)])
        return piece.replace(METASPACE, " ").encode("utf-8")

    def text_to_piece(self, text: str) -> str:
        """The piece spelling of a text (inverse of piece_bytes for text that needs no byte fallback)."""
        if self.byte_level:
            table = bytes_to_unicode()
            return "".join(table[b] for b in text.encode("utf-8"))
        return text.replace(" ", METASPACE)

    def model_only(self) -> Any:
        """A `tokenizers.Tokenizer` that runs only the BPE model: one input string = one word."""
        from tokenizers import Tokenizer

        data = dict(self.data)
        data.update(normalizer=None, pre_tokenizer=None, post_processor=None, decoder=None, added_tokens=[],
                    truncation=None, padding=None)
        return Tokenizer.from_str(json.dumps(data))

    def full(self) -> Any:
        from tokenizers import Tokenizer

        return Tokenizer.from_str(json.dumps(self.data))


def split_metaspace_words(words: Iterable[str]) -> list[str]:
    """Cut metaspace text into SentencePiece-style words (a word starts at each `▁`).

    Llama-2's pre-tokenizer keeps the whole text as one word; learning merges over that would create
    pieces that span spaces, which SentencePiece never does.
    """
    out: list[str] = []
    pattern = re.compile(f"{METASPACE}?[^{METASPACE}]+|{METASPACE}")
    for word in words:
        out.extend(pattern.findall(word))
    return out
