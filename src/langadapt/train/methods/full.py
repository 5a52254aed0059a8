"""`full`: every weight trains, from fp32 master weights under autocast."""

from __future__ import annotations

from langadapt.models.archs import Arch
from langadapt.train.methods.base import MemoryEstimate, TrainingMethod


class Full(TrainingMethod):
    name = "full"
    label = "full fine-tuning"
    trains_base_weights = True
    mfu = 0.40
    base_bytes = 4.0

    def make_trainable(self, model, cfg, new_ids, tied, notes):
        # The new rows are rows of the one embedding matrix here, and AdamW's step does not scale with a
        # gradient's size, so they cannot get a rate of their own without splitting the matrix: say so.
        emb_lr = cfg.lora.embedding_learning_rate
        if new_ids and emb_lr is not None and emb_lr != cfg.learning_rate:
            notes.append(f"lora.embedding_learning_rate={emb_lr:g} is not applied by method full: its {len(new_ids)} "
                         f"new token rows train with every other weight at learning_rate={cfg.learning_rate:g}")
        return model

    def trainable_parameters(self, arch: Arch, cfg, vocab: int, new_tokens: int) -> int:
        return arch.num_parameters(vocab)

    def memory(self, arch: Arch, cfg, vocab: int, new_tokens: int) -> MemoryEstimate:
        n = arch.num_parameters(vocab)
        return MemoryEstimate(n * 4.0, n * 12.0, n)  # fp32 master weights; gradient + two moments

    def hints(self, strategy: str, num_gpus: int) -> list[str]:
        hints = []
        if num_gpus > 1 and strategy not in ("zero3", "fsdp"):
            hints.append("hardware.strategy=fsdp (shards weights, gradients and optimizer state)")
        return hints + ["method=lora"]


FULL = Full()  # the registered instance (`langadapt.train.methods`)
