"""The `export` section: merged weights, the model card and where they go."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from langadapt.config.base import Section


class ExportConfig(Section):
    enabled: bool = Field(True, description="Run this stage.")
    source: Literal["auto", "sft", "pretrain"] = Field("auto", description="Which trained model to export: `auto` takes the last training stage, except an SFT stage that did not lower its own validation loss (then the model before it, and the export says so).")
    merge: bool = Field(True, description="Merge LoRA adapters into the weights; when off, export the adapter alone.")
    dtype: Literal["fp32", "bf16", "fp16"] = Field("bf16", description="Dtype of the saved weights.")
    max_shard_size: str = Field("5GB", description="Largest safetensors shard, e.g. `5GB`, `500MB`.")
    version: str | None = Field(None, description="Version tag for the change log (default: today's date as YYYY.MM.DD).")
    notes: str | None = Field(None, description="Change-log text for this version (default: a summary of what the run did).")
    license: str | None = Field(None, description="License of the result (default: the base model's).")
    verify: bool = Field(True, description="Check the merged logits against base+adapter and fail loudly on mismatch.")
    verify_texts: int = Field(4, ge=1, description="Held-out documents used for the logit check (plus one made of the added tokens).")
    grid_intensity: float | None = Field(0.432, ge=0, description="kgCO2eq per kWh of the grid that powered training, for the card's CO2 estimate (None: energy only).")
    tdp_watts: float | None = Field(None, gt=0, description="Power draw per training device in watts (default: looked up from the recorded hardware name).")
    push_to_hub: str | None = Field(None, description="Hub repository to upload to (needs network and a token).")
    private: bool = Field(False, description="Create the Hub repository as private.")
    format: Literal["safetensors", "gguf"] = Field(
        "safetensors", description="`gguf`: also write <out>/<name>-<gguf_type>.gguf for llama.cpp, Ollama and LM Studio, "
                                   "read back with transformers' GGUF loader and checked.")
    gguf_type: Literal["f32", "f16", "bf16", "q8_0"] = Field("q8_0", description="Weight type of the GGUF file.")
    gguf_pre: str | None = Field(None, description="llama.cpp pre-tokenizer name for a byte-level tokenizer "
                                                   "(default: read from tokenizer.json's split rules, e.g. gpt-2, smollm, llama-bpe).")

    @model_validator(mode="after")
    def _gguf_needs_merge(self) -> "ExportConfig":
        if self.format == "gguf" and not self.merge:
            raise ValueError("format gguf needs merged weights (merge: true); llama.cpp has no adapter-only GGUF here")
        return self
