"""Extend a tokenizer without its model: the extended tokenizer and langadapt_extension.json, no weights.

    langadapt tokenizer extend --model ggml-vocab-llama-spm.gguf --corpus poems.jsonl --out out/tok
    ext, info, tokenizer_only = extend(base_model, corpus, cfg, "out/tok/model")   # picks the mode

Learning new pieces needs only the base tokenizer. Vocabulary-only GGUF files (as llama.cpp ships
for Llama-2 and Llama-3) carry a model's full-size hyperparameters and no tensors; turning one into
a model would build a randomly initialised full-size network (Llama-2-7B: ~27 GB in fp32) only to
throw it away. So a base without weights is extended tokenizer-only, said so, and its tokenizer is
read straight from the GGUF file or folder. The embedding resize happens later, on a real model,
from the ids and padded size recorded in langadapt_extension.json.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any, Callable, Sequence

from langadapt.atomic import atomic_dir, write_json
from langadapt.config.tokenizer import TokenizerConfig
from langadapt.errors import UserError
from langadapt.models import load_tokenizer
from langadapt.models.extension import EXTENSION_FILE
from langadapt.tokenizer.embeddings import padded_size
from langadapt.tokenizer.extend import TokenizerExtension, extend_model, extend_tokenizer
from langadapt.tokenizer.extend_hf import save_tokenizer
from langadapt.tokenizer.extend_spm import extend_spm_bytes, spm_from_gguf
from langadapt.tokenizer.report import compare, write_report
from langadapt.tokenizer.texts import iter_texts

log = logging.getLogger(__name__)

_WEIGHT_PATTERNS = ("*.safetensors", "pytorch_model*.bin", "*.pt", "*.pth", "*.gguf", "tf_model.h5", "flax_model.msgpack")


def has_weights(ref: str | os.PathLike) -> bool:
    """False for a vocabulary-only GGUF or a folder with a tokenizer and no weight files; True otherwise
    (aliases and Hub ids name full models)."""
    path = Path(str(ref)).expanduser()
    if path.suffix == ".gguf" and path.is_file():
        import gguf

        return len(gguf.GGUFReader(str(path)).tensors) > 0
    if path.is_dir():
        if (path / "adapter_config.json").is_file():
            return True
        return any(any(path.glob(pattern)) for pattern in _WEIGHT_PATTERNS)
    return True


def load_base_tokenizer(ref: str | os.PathLike) -> Any:
    """The tokenizer of `ref`, without building its model (a GGUF is read for its vocabulary alone)."""
    from transformers import AutoTokenizer

    path = Path(str(ref)).expanduser()
    if path.suffix == ".gguf":
        if not path.is_file():
            raise UserError(f"{ref}: no such GGUF file")
        return AutoTokenizer.from_pretrained(str(path.parent), gguf_file=path.name)
    if path.is_dir() and not (path / "config.json").is_file() and not (path / "adapter_config.json").is_file():
        return AutoTokenizer.from_pretrained(str(path))

    return load_tokenizer(ref)


def _spm_source(ref: str | os.PathLike) -> bytes | None:
    """The base's SentencePiece model, when it has one (a folder's tokenizer.model, or a Llama-2-style GGUF)."""
    path = Path(str(ref)).expanduser()
    if path.is_dir() and (path / "tokenizer.model").is_file():
        return (path / "tokenizer.model").read_bytes()
    if path.suffix == ".gguf":
        import gguf

        field = gguf.GGUFReader(str(path)).fields.get("tokenizer.ggml.model")
        if field is not None and bytes(field.parts[field.data[0]]).decode() == "llama":
            return spm_from_gguf(path)
    return None


def extend_tokenizer_only(base_model: str, corpus: Sequence[str | os.PathLike], cfg: TokenizerConfig,
                          out_dir: str | os.PathLike, progress: bool = True) -> tuple[TokenizerExtension, dict]:
    """Learn pieces on `corpus` and write the extended tokenizer and EXTENSION_FILE to `out_dir` (no model)."""
    if not corpus:
        raise UserError("no corpus given to learn new pieces from")
    base_tok = load_base_tokenizer(base_model)
    ext = extend_tokenizer(base_tok, iter_texts(corpus, max_chars=cfg.max_corpus_chars), cfg, progress=progress)
    needed = ext.first_id + len(ext.pieces)
    info = {
        "base_model": str(base_model),
        "base_vocab_size": ext.first_id,
        "new_token_ids": ext.new_token_ids,
        # What a later resize should pad to; no rows were initialised here.
        "padded_vocab_size": padded_size(needed, cfg.pad_to_multiple_of),
        "init": None,
        "tokenizer_only": True,
        "method": "continued-bpe",
        "stats": ext.stats,
        "config": cfg.model_dump(),
    }
    spm = None if ext.base.byte_level else _spm_source(base_model)
    with atomic_dir(out_dir) as tmp:
        save_tokenizer(base_tok, ext.extended, tmp)
        if spm is not None:
            (Path(tmp) / "tokenizer.model").write_bytes(extend_spm_bytes(spm, ext.pieces, ext.first_id))
        info["sentencepiece_model"] = spm is not None
        write_json(Path(tmp) / EXTENSION_FILE, info)
    return ext, info


def extend(base_model: str, corpus: Sequence[str | os.PathLike], cfg: TokenizerConfig, out_dir: str | os.PathLike,
           tokenizer_only: bool | None = None, progress: bool = True,
           say: Callable[[str], None] = print) -> tuple[TokenizerExtension, dict, bool]:
    """Tokenizer and model (extend_model), or the tokenizer alone; `tokenizer_only=None` picks the
    tokenizer alone exactly when the base has no weights, and says so."""
    if tokenizer_only is None:
        tokenizer_only = not has_weights(base_model)
        if tokenizer_only:
            say(f"{base_model} has no weights (a vocabulary-only file): extending the tokenizer alone "
                "(as --tokenizer-only); no model is built or saved")
    if tokenizer_only:
        ext, info = extend_tokenizer_only(base_model, corpus, cfg, out_dir, progress=progress)
    else:
        ext, info = extend_model(base_model, corpus, cfg, out_dir, progress=progress)
    return ext, info, tokenizer_only


def report_tokens(base_model: str, extended_dir: str | os.PathLike, heldout: dict[str, list[str]],
                  out_dir: str | os.PathLike, info: dict) -> tuple[dict, dict]:
    """Tokens per character before and after (bits per character need a model, so none here)."""
    from transformers import AutoTokenizer

    tokenizers = {"base": load_base_tokenizer(base_model), "extended": AutoTokenizer.from_pretrained(str(extended_dir))}
    table = compare(tokenizers, heldout, {"extended": info["new_token_ids"][0]})
    outputs = write_report(table, out_dir, extra={"extension": info})
    langs = list(heldout)
    metrics = {
        "method": info["method"], "tokenizer_only": True, "base_vocab_size": info["base_vocab_size"],
        "vocab_size": len(tokenizers["extended"]), "padded_vocab_size": info["padded_vocab_size"],
        "added_tokens": info["new_token_ids"][1] - info["new_token_ids"][0],
        "tokens_per_char_before": {l: round(table["base"]["languages"][l]["tokens_per_char"], 4) for l in langs},
        "tokens_per_char_after": {l: round(table["extended"]["languages"][l]["tokens_per_char"], 4) for l in langs},
        "new_pieces_used": {l: table["extended"]["languages"][l].get("new_pieces_used") for l in langs},
    }
    return outputs, metrics
