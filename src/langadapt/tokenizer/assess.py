"""Measure an extension on held-out text: tokens per character and bits per character, before and after.

    from langadapt.tokenizer.assess import assess_extension
    outputs, metrics = assess_extension("smollm2-135m-instruct", "out/model", {"zh-Hant": texts}, cfg, "out/")

Bits per character are taken right after extension, before any training: the extended model must
not start far worse than its base (CLA2 issue 223 is what happens when nobody checks).
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

from langadapt.config.tokenizer import TokenizerConfig
from langadapt.models import load_model, load_tokenizer
from langadapt.models.extension import read_extension
from langadapt.tokenizer import inits
from langadapt.tokenizer.embeddings import extend_embeddings
from langadapt.tokenizer.extend import calibration_inputs
from langadapt.tokenizer.report import bits_per_char, compare, write_report

log = logging.getLogger(__name__)


def _limit(texts: list[str], max_chars: int) -> list[str]:
    out, size = [], 0
    for text in texts:
        if size >= max_chars:
            break
        out.append(text[: max_chars - size])
        size += len(out[-1])
    return out


def _bpc_of(model: Any, tokenizer: Any, heldout: dict[str, list[str]], max_chars: int) -> dict[str, float]:
    return {lang: round(bits_per_char(model, tokenizer, _limit(texts, max_chars)), 4) for lang, texts in heldout.items()}


def assess_extension(base_model: str, extended_dir: str | os.PathLike, heldout: dict[str, list[str]],
                     cfg: TokenizerConfig, out_dir: str | os.PathLike, extension: Any = None) -> tuple[dict, dict]:
    """Write report.json/report.md/tokens_per_char.png to `out_dir`; return (outputs, metrics)."""
    from transformers import AutoTokenizer

    info = read_extension(extended_dir)
    first_id = info["new_token_ids"][0]
    base_tok = load_tokenizer(base_model)
    ext_tok = AutoTokenizer.from_pretrained(str(extended_dir))
    table = compare({"base": base_tok, "extended": ext_tok}, heldout, {"extended": first_id})

    bpc: dict[str, dict[str, float]] = {}
    if cfg.report_chars and heldout:
        base = load_model(base_model, dtype="fp32")
        bpc["base"] = _bpc_of(base, base_tok, heldout, cfg.report_chars)
        del base
        extended = load_model(str(extended_dir), dtype="fp32")
        bpc[f"extended ({info['init']} init)"] = _bpc_of(extended, ext_tok, heldout, cfg.report_chars)
        del extended
        if cfg.compare_inits and extension is not None:
            for init in inits.names():
                if init == info["init"]:
                    continue
                model = load_model(base_model, dtype="fp32")
                extend_embeddings(model, extension.base, extension.pieces, extension.first_id, init=init,
                                  token_counts=extension.learned.base_token_counts,
                                  pad_to_multiple_of=cfg.pad_to_multiple_of,
                                  calibration=calibration_inputs(extension, cfg, base_tok, init))
                bpc[f"extended ({init} init)"] = _bpc_of(model, ext_tok, heldout, cfg.report_chars)
                del model

    outputs = write_report(table, out_dir, bpc, extra={"extension": info})
    langs = list(heldout)
    metrics: dict[str, Any] = {
        "method": info.get("method", "continued-bpe"),
        "base_vocab_size": info["base_vocab_size"],
        "vocab_size": len(ext_tok),
        "padded_vocab_size": info["padded_vocab_size"],
        "added_tokens": info["new_token_ids"][1] - info["new_token_ids"][0],
        "init": info["init"],
        "tokens_per_char_before": {l: round(table["base"]["languages"][l]["tokens_per_char"], 4) for l in langs},
        "tokens_per_char_after": {l: round(table["extended"]["languages"][l]["tokens_per_char"], 4) for l in langs},
        "new_pieces_used": {l: table["extended"]["languages"][l].get("new_pieces_used") for l in langs},
    }
    if bpc:
        metrics["bpc_before"] = bpc["base"]
        metrics["bpc_after_init"] = bpc[f"extended ({info['init']} init)"]
        metrics["bpc_by_init"] = {k: v for k, v in bpc.items() if k != "base"}
    return outputs, metrics
