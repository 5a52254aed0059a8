"""`qlora`: LoRA over a 4-bit NF4 base (bitsandbytes, CUDA only); the adapter merges into a 16-bit base."""

from __future__ import annotations

from pathlib import Path

from langadapt.errors import UserError, require
from langadapt.models import load_model
from langadapt.train.methods.lora import Lora


class QLora(Lora):
    name = "qlora"
    label = "QLoRA (4-bit base + LoRA)"
    card_tag = "qlora"
    config_sections = ("lora", "quant")
    mfu = 0.20
    base_bytes = 0.516  # NF4 with double quantisation; embeddings and output layer stay 16-bit

    def check(self, cfg) -> None:
        import torch

        if not torch.cuda.is_available():
            raise UserError("method qlora needs a CUDA GPU (bitsandbytes 4-bit kernels); on this machine use method=lora")
        require("bitsandbytes", "qlora", "method qlora")

    def load_kwargs(self, cfg, precision):
        import torch
        from transformers import BitsAndBytesConfig

        compute = {"bf16": torch.bfloat16, "fp16": torch.float16, "fp32": torch.float32}[cfg.quant.compute_dtype]
        quant = BitsAndBytesConfig(load_in_4bit=True, bnb_4bit_quant_type=cfg.quant.quant_type,
                                   bnb_4bit_use_double_quant=cfg.quant.double_quant, bnb_4bit_compute_dtype=compute)
        return {"quantization_config": quant, "dtype": compute, "device_map": {"": torch.cuda.current_device()}}

    def enable_checkpointing(self, model, cfg):
        from peft import prepare_model_for_kbit_training

        return prepare_model_for_kbit_training(model, use_gradient_checkpointing=cfg.gradient_checkpointing)

    def merge(self, model, adapter_dir: Path | None):
        # Merging into 4-bit weights would round them again: apply the adapter to a fresh 16-bit base.
        return load_model(str(adapter_dir), dtype="bf16", merge_adapter=True)

    def hints(self, strategy: str, num_gpus: int) -> list[str]:
        return []


QLORA = QLora()  # the registered instance (`langadapt.train.methods`)
