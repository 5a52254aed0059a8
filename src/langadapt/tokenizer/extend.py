"""Extend a model's tokenizer with target-language pieces and resize its embeddings: the library entry point.

    from langadapt.tokenizer.extend import extend_model
    result = extend_model("smollm2-135m-instruct", ["corpus/"], TokenizerConfig(new_tokens=16000), "out/")

`extend_tokenizer` does the tokenizer part alone (for tokenizer-only bases such as vocab GGUFs).
"""

from __future__ import annotations

import logging
import os
import random
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Sequence

from langadapt.atomic import atomic_dir, write_json
from langadapt.config.tokenizer import TokenizerConfig
from langadapt.errors import UserError
from langadapt.memguard import check_model_fits
from langadapt.models import load_model, load_tokenizer, resolve_model
from langadapt.models.extension import EXTENSION_FILE
from langadapt.models.gguf import save_plain
from langadapt.tokenizer import inits
from langadapt.tokenizer.embeddings import extend_embeddings
from langadapt.tokenizer.extend_hf import apply_pieces, extend_tokenizer_json, save_tokenizer
from langadapt.tokenizer.extend_spm import extend_spm_file
from langadapt.tokenizer.learn_bpe import LearnedPieces, learn_pieces
from langadapt.tokenizer.pieces import TokenizerJson
from langadapt.tokenizer.texts import iter_texts
from langadapt.tokenizer.vocab_size import choose_size, truncate

log = logging.getLogger(__name__)


@dataclass
class TokenizerExtension:
    base: TokenizerJson
    extended: TokenizerJson
    pieces: list[str]
    learned: LearnedPieces
    first_id: int
    seconds: float
    stats: dict = field(default_factory=dict)
    calibration_texts: list[str] = field(default_factory=list)

    @property
    def new_token_ids(self) -> list[int]:
        return [self.first_id, self.first_id + len(self.pieces)]


def _tokens_per_char(tj: TokenizerJson, sample: list[str]) -> float:
    tk = tj.full()
    enc = tk.encode_batch(sample, add_special_tokens=False)
    return sum(len(e.ids) for e in enc) / max(1, sum(map(len, sample)))


def _fit_to_target(base: TokenizerJson, learned: LearnedPieces, target: float, sample: list[str]) -> LearnedPieces:
    """Fewest pieces (binary search over the learned order) that bring `sample` to `target` tokens/char."""
    lo, hi = 0, len(learned.new_pieces)
    if _tokens_per_char(apply_pieces(base, learned.new_pieces, learned.merges), sample) > target:
        log.info("even %d pieces stay above %.3f tokens/char; keeping all", hi, target)
        return learned
    while lo < hi:
        mid = (lo + hi) // 2
        part = truncate(learned, mid)
        if _tokens_per_char(apply_pieces(base, part.new_pieces, part.merges), sample) <= target:
            hi = mid
        else:
            lo = mid + 1
    return truncate(learned, lo)


def extend_tokenizer(base_tokenizer: Any, texts: Iterable[str], cfg: TokenizerConfig, progress: bool = True) -> TokenizerExtension:
    """Learn new pieces on `texts` and build the extended tokenizer.json (nothing written yet)."""
    start = time.perf_counter()
    base = TokenizerJson.from_tokenizer(base_tokenizer)
    base.check_supported()
    if cfg.method == "sentencepiece" and base.byte_level:
        raise UserError("tokenizer.method=sentencepiece needs a SentencePiece-family (metaspace) tokenizer; "
                        "this one is byte-level BPE: use `bpe` or `auto`")
    sample: list[str] = []
    sample_chars = 0
    reservoir: list[str] = []
    sampled = inits.get(cfg.init).needs_text or cfg.compare_inits or cfg.new_tokens == "auto"
    reservoir_size = max(200, cfg.calibration_chars // 20) if sampled else 0
    rng = random.Random(0)

    def keep_sample(stream: Iterable[str]) -> Iterable[str]:
        # A slice of the training text (never held-out text) to aim `target_tokens_per_char` at, and
        # a uniform sample of its documents (the corpus is ordered by source) for the fitted inits and
        # for sizing the vocabulary (`new_tokens: auto`).
        nonlocal sample_chars
        for seen, text in enumerate(stream):
            if sample_chars < 200_000:
                sample.append(text)
                sample_chars += len(text)
            if seen < reservoir_size:
                reservoir.append(text)
            elif reservoir_size and (slot := rng.randrange(seen + 1)) < reservoir_size:
                reservoir[slot] = text
            yield text

    auto = cfg.new_tokens == "auto"
    if auto and not cfg.auto_training_tokens:
        raise UserError("tokenizer.new_tokens: auto sizes the vocabulary for the planned training tokens: set "
                        "tokenizer.auto_training_tokens, or pretrain.max_steps")
    learned = learn_pieces(base, keep_sample(texts), new_tokens=cfg.auto_max_tokens if auto else (cfg.new_tokens or 8000),
                           min_frequency=cfg.min_frequency, max_chars=cfg.max_corpus_chars,
                           max_piece_length=cfg.max_piece_length, keep_ascii=cfg.keep_ascii_pieces, progress=progress)
    size_choice = None
    if auto:
        size_choice = choose_size(base, learned, reservoir, cfg.auto_training_tokens, cfg.auto_min_occurrences)
        log.warning("tokenizer.new_tokens auto: %s", size_choice.reason)
        learned = truncate(learned, size_choice.new_tokens)
    if cfg.target_tokens_per_char:
        learned = _fit_to_target(base, learned, cfg.target_tokens_per_char, sample)
    extended, pieces = extend_tokenizer_json(base, learned)
    seconds = time.perf_counter() - start
    stats = dict(learned.stats, new_pieces=len(pieces), seconds=round(seconds, 2))
    if size_choice:
        stats["size_choice"] = size_choice.to_dict()
    rng.shuffle(reservoir)
    return TokenizerExtension(base=base, extended=extended, pieces=pieces, learned=learned,
                              first_id=base.max_id + 1, seconds=seconds, stats=stats, calibration_texts=reservoir)


def calibration_inputs(ext: TokenizerExtension, cfg: TokenizerConfig, base_tokenizer: Any, init: str | None = None) -> dict | None:
    """What an init that needs training text fits on: the extended tokenizer, the sampled training
    text and its own settings from the recipe (None for an init that fits nothing)."""
    method = inits.get(init or cfg.init)
    if not method.needs_text:
        return None
    sep = base_tokenizer.eos_token_id if base_tokenizer.eos_token_id is not None else 0
    return {"ext_tokenizer": ext.extended.full(), "texts": ext.calibration_texts, "max_chars": cfg.calibration_chars,
            "sep_id": sep, **method.fit_settings(cfg)}


def extension_info(base_model: str, ext: TokenizerExtension, emb: dict, cfg: TokenizerConfig) -> dict:
    return {
        "base_model": str(base_model),
        "base_vocab_size": ext.first_id,
        "new_token_ids": ext.new_token_ids,
        "padded_vocab_size": emb["padded_vocab_size"],
        "init": emb["init"],
        "method": "continued-bpe",
        "tied_embeddings": emb["tied"],
        **({"calibration": emb["calibration"]} if emb.get("calibration") else {}),
        "stats": ext.stats,
        "config": cfg.model_dump(),
    }


def write_spm_if_shipped(base_model: str, ext: TokenizerExtension, out_dir: str | os.PathLike) -> bool:
    """Extend the base's SentencePiece tokenizer.model too, when it ships one (metaspace tokenizers only)."""
    resolved = resolve_model(base_model)
    source = Path(resolved.weights) / "tokenizer.model"
    if resolved.kind == "hub" or not source.is_file() or ext.base.byte_level:
        return False
    extend_spm_file(source, ext.pieces, ext.first_id, Path(out_dir) / "tokenizer.model")
    return True


def extend_model(base_model: str, corpus: Sequence[str | os.PathLike], cfg: TokenizerConfig, out_dir: str | os.PathLike,
                 progress: bool = True) -> tuple[TokenizerExtension, dict]:
    """Extend `base_model`'s tokenizer on `corpus` and save the resized model to `out_dir`.

    Returns the extension and the contents of `langadapt_extension.json`.
    """
    if not corpus:
        raise UserError("no corpus given to learn new pieces from")
    # Before anything loads: a model that cannot fit is otherwise killed by the kernel with no message.
    check_model_fits(base_model, f"loading {base_model} in fp32 to resize its embeddings",
                     hint="to extend the tokenizer alone, pass --tokenizer-only")
    base_tok = load_tokenizer(base_model)
    ext = extend_tokenizer(base_tok, iter_texts(corpus, max_chars=cfg.max_corpus_chars), cfg, progress=progress)
    log.info("learned %d new pieces in %.1fs", len(ext.pieces), ext.seconds)
    model = load_model(base_model, dtype="fp32")
    emb = extend_embeddings(model, ext.base, ext.pieces, ext.first_id, init=cfg.init,
                            token_counts=ext.learned.base_token_counts, pad_to_multiple_of=cfg.pad_to_multiple_of,
                            calibration=calibration_inputs(ext, cfg, base_tok))
    info = extension_info(base_model, ext, emb, cfg)
    with atomic_dir(out_dir) as tmp:
        save_plain(model, tmp)
        save_tokenizer(base_tok, ext.extended, tmp)
        info["sentencepiece_model"] = write_spm_if_shipped(base_model, ext, tmp)
        write_json(Path(tmp) / EXTENSION_FILE, info)
    return ext, info
