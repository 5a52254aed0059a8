"""The `export` section: merged weights and the model card."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from langadapt.config.base import Section


class ExportConfig(Section):
    enabled: bool = Field(True, description="Run this stage.")
    merge: bool = Field(True, description="Merge LoRA adapters into the weights; when off, export the adapter alone.")
    dtype: Literal["fp32", "bf16", "fp16"] = Field("bf16", description="Dtype of the saved weights.")
    max_shard_size: str = Field("5GB", description="Largest safetensors shard.")
    version: str | None = Field(None, description="Version tag for the change log (default: today's date as YYYY.MM.DD).")
    license: str | None = Field(None, description="License of the result (default: the base model's).")
    verify: bool = Field(True, description="Check the merged logits against base+adapter and fail loudly on mismatch.")
    push_to_hub: str | None = Field(None, description="Hub repository to upload to (needs network and a token).")
