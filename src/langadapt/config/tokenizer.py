"""The `tokenizer` section: extend the base tokenizer and initialise new embeddings."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, field_validator

from langadapt.choices import OneOf
from langadapt.config.base import Section
from langadapt.tokenizer import inits


class TokenizerConfig(Section):
    enabled: bool = Field(True, description="Run this stage; when off, later stages use the base tokenizer.")
    method: Literal["auto", "bpe", "sentencepiece"] = Field("auto", description="How new pieces are learned: continued BPE over the base tokens, appended after the base merges. `auto`/`bpe` work for byte-level (Llama-3, Qwen, SmolLM2) and metaspace (Llama-2) tokenizers; `sentencepiece` insists on a SentencePiece-family (metaspace) base. An extended tokenizer.model is written whenever the base ships one.")
    new_tokens: int | Literal["auto"] | None = Field(8000, description="Number of new pieces to learn (upper bound when `target_tokens_per_char` is set), or `auto`: learn up to `auto_max_tokens` and keep those the planned training tokens show at least `auto_min_occurrences` times each (the report says why it chose the size).")
    auto_max_tokens: int = Field(16_000, ge=1, description="`new_tokens: auto`: most pieces to learn before choosing.")
    auto_min_occurrences: int = Field(20, ge=1, description="`new_tokens: auto`: expected occurrences in the planned training tokens a piece needs to be kept.")
    auto_training_tokens: int | None = Field(None, ge=1, description="`new_tokens: auto`: training tokens planned for the new rows; default: pretrain max_steps x batch x sequence length (required when pretrain runs on a time budget).")
    target_tokens_per_char: float | None = Field(None, gt=0, description="Use the fewest learned pieces that bring a sample of the training text to this many tokens per character.")
    min_frequency: int = Field(2, ge=1, description="A new merge must occur at least this often in the corpus.")
    max_corpus_chars: int = Field(50_000_000, ge=1, description="Read at most this many characters of cleaned corpus to learn from.")
    init: Annotated[str, OneOf(inits.names)] = Field("mean", description="New embedding rows: mean of the sub-token embeddings (default), `fitted` (the mean, then the input rows distilled so the hidden states after a new piece match the base model's after its spelling; then the untied output rows fitted by a softmax objective so each piece gets the probability the base model gives its spelling), random, frequency-weighted, FOCUS-style, or `calibrated` (the mean, then each row's output side ridge-fitted to the base model's probability of the piece's spelling).")
    calibration_chars: int = Field(60_000, ge=1, description="Inits `fitted` and `calibrated`: characters of training text (sampled across the corpus) the rows are fitted on.")
    fit_distill_epochs: int = Field(1, ge=0, description="Init `fitted`: passes of token distillation over the fitting text for the new input rows (0 = keep the mean).")
    fit_output_steps: int = Field(60, ge=0, description="Init `fitted`: L-BFGS iterations of the softmax fit of the new output rows on the fitting text (0 = keep the mean).")
    fit_output_prior: float = Field(100.0, ge=0, description="Init `fitted`: strength of the pull of each new output row towards its mean start, in positions' worth of evidence (rarely seen pieces stay near the mean).")
    calibration_ridge: float = Field(10.0, gt=0, description="Init `calibrated`: pull towards the mean row (x mean squared hidden-state norm); small values overfit the seen contexts.")
    pad_to_multiple_of: int = Field(64, ge=1, description="Pad the embedding matrix to a multiple of this for speed.")
    max_piece_length: int = Field(16, ge=2, description="Longest new piece, counted in base tokens; longer pieces mostly memorise repeated lines.")
    keep_ascii_pieces: bool = Field(False, description="Also learn pieces made only of ASCII; off guarantees English and code encode exactly as before.")
    report_chars: int = Field(20_000, ge=0, description="Held-out characters per language scored for bits per character before and after extension (0 = skip the model scoring).")
    compare_inits: bool = Field(False, description="Also score every other init method right after extension (slower; for choosing an init).")

    @field_validator("new_tokens")
    @classmethod
    def _positive_or_auto(cls, value: int | str | None) -> int | str | None:
        if isinstance(value, int) and value < 1:
            raise ValueError("must be at least 1, or `auto`")
        return value
