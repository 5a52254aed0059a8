"""`lora`: LoRA adapters on `lora.target_modules` over a frozen base; new token rows train with them.

The rows of tokens the tokenizer stage added train as PEFT trainable tokens (their own learning
rate, `lora.embedding_learning_rate`), so a new vocabulary gets embeddings without training the
whole matrix. The merged model is the adapter folded into the base.
"""

from __future__ import annotations

from langadapt.models.archs import Arch
from langadapt.train.methods.base import TrainingMethod, frozen_base_dtype, modules_to_save_parameters, new_row_parameters


class Lora(TrainingMethod):
    name = "lora"
    label = "LoRA"
    card_tag = "lora"
    peft = True
    config_sections = ("lora",)
    mfu = 0.30

    def load_kwargs(self, cfg, precision):
        return {"dtype": frozen_base_dtype(precision)}

    def make_trainable(self, model, cfg, new_ids, tied, notes):
        from peft import LoraConfig, get_peft_model

        token_idx = None
        if cfg.lora.train_new_embeddings and new_ids:
            token_idx = {"embed_tokens": new_ids} if tied else {"embed_tokens": new_ids, "lm_head": new_ids}
            notes.append(f"{len(new_ids)} new token rows train with the adapter")
        lcfg = LoraConfig(r=cfg.lora.r, lora_alpha=cfg.lora.alpha, lora_dropout=cfg.lora.dropout,
                          target_modules=list(cfg.lora.target_modules), task_type="CAUSAL_LM",
                          modules_to_save=list(cfg.lora.modules_to_save) or None,
                          trainable_token_indices=token_idx)
        model = get_peft_model(model, lcfg)
        if cfg.long_context.s2_attn and not cfg.lora.modules_to_save:
            notes.append("S2-Attn with LoRA: LongLoRA trains embeddings and norms too "
                         "(lora.modules_to_save: [embed_tokens, norm])")
        return model

    def trainable_parameters(self, arch: Arch, cfg, vocab: int, new_tokens: int) -> int:
        shapes = arch.linear_shapes()
        adapters = sum(cfg.lora.r * (i + o) for name, (i, o) in shapes.items() if name in cfg.lora.target_modules)
        rows = new_row_parameters(arch, cfg, new_tokens) if new_tokens and cfg.lora.train_new_embeddings else 0
        return adapters * arch.layers + rows + modules_to_save_parameters(arch, cfg, vocab)

    def activation_bytes(self, arch: Arch, cfg, compute_bytes: int) -> int:
        if cfg.lora.dropout > 0:
            return len(cfg.lora.target_modules) * arch.hidden * compute_bytes  # dropout copies of the LoRA inputs
        return 0

    def hints(self, strategy: str, num_gpus: int) -> list[str]:
        return ["method=qlora"]


LORA = Lora()  # the registered instance (`langadapt.train.methods`)
