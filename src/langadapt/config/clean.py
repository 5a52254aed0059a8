"""The `clean` section: normalise, filter and deduplicate the corpora."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from langadapt import languages
from langadapt.choices import OneOf
from langadapt.config.base import Section
from langadapt.corpus import filters, normalize

# The registered languages' presets when the recipe model is built (zh-Hant, zh-Hans, bo, th, en, generic).
PresetName = Literal[tuple(languages.preset_names())]  # type: ignore[valid-type]
# Checked against the registries when a recipe is read, so a filter or normaliser registered later is accepted.
NormalizerName = Annotated[str, OneOf(normalize.names)]
FilterName = Annotated[str, OneOf(filters.names)]


class DedupConfig(Section):
    exact: bool = Field(True, description="Drop documents whose normalised text hashes equal an earlier one.")
    near: bool = Field(True, description="Drop near-duplicates found by MinHash LSH.")
    threshold: float = Field(0.8, gt=0, le=1, description="Jaccard similarity above which two documents are near-duplicates.")
    num_perm: int = Field(128, ge=16, description="MinHash permutations: more is more accurate and slower.")
    ngram: int = Field(5, ge=1, description="Character n-gram size for MinHash shingles (characters suit CJK, Thai and Tibetan).")


class CleanConfig(Section):
    enabled: bool = Field(True, description="Run this stage.")
    preset: PresetName | None = Field(None, description="Language preset of normalisers and filters for the target corpora; by default each corpus takes the preset of its own language (replay corpora always do).")
    normalizers: list[NormalizerName] | None = Field(None, description="Ordered normaliser names for the target corpora, overriding the preset's list; any registered normaliser (`langadapt.corpus.normalize`).")
    filters: list[FilterName] | None = Field(None, description="Ordered filter names for the target corpora, overriding the preset's list; any registered filter (`langadapt.corpus.filters`).")
    opencc: str | None = Field(None, description="OpenCC conversion to apply, e.g. `s2twp` (Simplified to Taiwan Traditional with phrases); adds the `opencc` normaliser when set.")
    min_chars: int = Field(1, ge=0, description="Drop documents shorter than this many characters.")
    max_chars: int = Field(1_000_000, ge=1, description="Drop documents longer than this many characters (before tokenising).")
    min_script_share: float | None = Field(None, ge=0, le=1, description="Drop documents whose share of target-script letters is below this (preset default when None).")
    max_simplified_share: float | None = Field(None, ge=0, le=1, description="Traditional corpora: drop documents where Simplified-only characters exceed this share of the script-specific ones, Simplified / (Simplified + Traditional), by OpenCC (zh-Hant default 0.5).")
    max_duplicate_line_share: float = Field(0.3, ge=0, le=1, description="Gopher-style: drop documents whose duplicated lines hold more than this share of the characters.")
    max_top_ngram_share: float = Field(0.2, ge=0, le=1, description="Gopher-style: drop documents whose most frequent character n-gram covers more than this share.")
    repetition_min_chars: int = Field(100, ge=0, description="Only check repetition on documents at least this long (short poems repeat by design).")
    max_tokens: int | None = Field(4096, ge=1, description="Drop (never cut) documents longer than this many tokens of the base tokenizer; None disables.")
    count_tokens: bool = Field(True, description="Count every kept document's tokens for stats (tokens_out). Off: with a byte-level tokenizer, which never makes more tokens than UTF-8 bytes, only documents with more bytes than max_tokens are tokenised (the cutoff stays exact), so cleaning short documents is several times faster; tokens_out is then reported as null.")
    tokenizer: str | None = Field(None, description="Tokenizer for the token cutoff and token counts; defaults to the recipe's base model.")
    max_record_bytes: int = Field(16 << 20, ge=1024, description="Raw records larger than this are rejected unread; the ledger keeps their location, size, SHA-256 and first 4 KiB.")
    dedup: DedupConfig = Field(default_factory=DedupConfig, description="Deduplication settings.")
    heldout_fraction: float = Field(0.02, ge=0, lt=1, description="Share of kept documents set aside, by a hash of their text, for evaluation only.")
    output_format: Literal["jsonl", "parquet"] = Field("jsonl", description="Format of the cleaned shards.")
    shard_size: int = Field(100_000, ge=1, description="Documents per output shard.")
    workers: int = Field(1, ge=1, description="Worker processes for normalising and filtering.")
    chunk_size: int = Field(256, ge=1, description="Documents handed to a worker at once (also the tokenizer's batch).")
