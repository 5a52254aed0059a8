"""`embeddings`: only the rows of the tokens the tokenizer stage added train (stage one of Chinese-LLaMA)."""

from __future__ import annotations

from langadapt.errors import UserError
from langadapt.models.archs import Arch
from langadapt.models.extension import EXTENSION_FILE
from langadapt.train.methods.base import TrainingMethod, frozen_base_dtype, modules_to_save_parameters, new_row_parameters


class Embeddings(TrainingMethod):
    name = "embeddings"
    label = "new embedding rows only"
    peft = True
    mfu = 0.30

    def load_kwargs(self, cfg, precision):
        return {"dtype": frozen_base_dtype(precision)}

    def make_trainable(self, model, cfg, new_ids, tied, notes):
        if not new_ids:
            raise UserError("method embeddings trains the rows of new tokens, but the input model has no "
                            f"{EXTENSION_FILE} (run the tokenizer stage first, or use method lora/full)")
        from peft import TrainableTokensConfig, get_peft_model

        targets = ["embed_tokens"] if tied else ["embed_tokens", "lm_head"]
        return get_peft_model(model, TrainableTokensConfig(target_modules=targets, token_indices=new_ids))

    def trainable_parameters(self, arch: Arch, cfg, vocab: int, new_tokens: int) -> int:
        rows = new_row_parameters(arch, cfg, new_tokens) if new_tokens else 0
        return rows + modules_to_save_parameters(arch, cfg, vocab)


EMBEDDINGS = Embeddings()  # the registered instance (`langadapt.train.methods`)
