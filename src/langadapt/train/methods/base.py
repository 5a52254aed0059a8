"""What a training method is: the contract `loading`, `export`, `plan` and the model card rely on.

A method decides how the base is loaded (dtype, quantisation), what trains (the PEFT wrapper or
requires_grad flags), how the trained model becomes a plain full model for the next stage, what
memory that costs per GPU, and how the card names it. Subclass TrainingMethod, set the class
attributes, implement `make_trainable`, and `register()` an instance.

torch is imported inside the hooks, not here: reading a recipe checks method names against the
registry and must not pay for loading torch (commands such as `langadapt clean` never need it).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # annotations only: the config reads this registry, and must not load the model code
    from langadapt.models.archs import Arch

TRAINED_BYTES = 16  # fp32 weight + fp32 gradient + two fp32 AdamW moments


@dataclass(frozen=True)
class MemoryEstimate:
    """Bytes per GPU before any sharding, and the parameter count that trains."""
    weights: float
    states: float
    trainable: int


def frozen_base_dtype(precision: str) -> Any:
    """A frozen base loads in half precision on GPUs (PEFT keeps what trains in fp32); on CPU, bf16 is
    autocast over fp32 weights so nothing saved is rounded."""
    import torch

    lowp = {"bf16": torch.bfloat16, "fp16": torch.float16}.get(precision)
    return lowp if lowp is not None and torch.cuda.is_available() else torch.float32


def new_row_parameters(arch: Arch, cfg, new_tokens: int) -> int:
    """New rows of the input and output matrices, unless that whole matrix trains anyway."""
    matrices = ["embed_tokens"] + ([] if arch.tied else ["lm_head"])
    return new_tokens * arch.hidden * sum(m not in cfg.lora.modules_to_save for m in matrices)


def modules_to_save_parameters(arch: Arch, cfg, vocab: int) -> int:
    h = arch.hidden
    return sum({"embed_tokens": vocab * h, "lm_head": 0 if arch.tied else vocab * h}.get(m, h * arch.layers * 2)
               for m in cfg.lora.modules_to_save)


class TrainingMethod:
    name: str = ""
    """The recipe's value of `pretrain.method` / `sft.method`."""
    label: str = ""
    """How the model card names the method."""
    card_tag: str | None = None
    """Hub tag the card's front matter carries for models trained this way."""
    peft: bool = False
    """Trains a PEFT adapter: the stage saves it beside the merged model."""
    trains_base_weights: bool = False
    """Every weight gets a gradient, so backward costs 4N FLOPs per token instead of 2N (input gradients only)."""
    config_sections: tuple[str, ...] = ()
    """Sub-sections of the stage config this method reads (recorded as hyperparameters, shown on the card)."""
    mfu: float = 0.30
    """Model FLOPs utilisation `plan` assumes for the time estimate."""
    base_bytes: float = 2.0
    """Bytes per base parameter outside the embeddings, as loaded for training (plan)."""

    def check(self, cfg) -> None:
        """Fail before anything loads when the method cannot run on this machine."""

    def load_kwargs(self, cfg, precision: str) -> dict[str, Any]:
        """`from_pretrained` arguments beyond the config and attention kernel: dtype, quantisation, placement."""
        import torch

        return {"dtype": torch.float32}  # fp32 master weights; autocast does the rest

    def enable_checkpointing(self, model, cfg):
        if cfg.gradient_checkpointing:
            model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
            if self.peft:
                # A frozen embedding gives no gradient to checkpointed layers' inputs without this.
                model.enable_input_require_grads()
        return model

    def make_trainable(self, model, cfg, new_ids: list[int], tied: bool, notes: list[str]):
        """Mark what trains (or wrap the model in a PEFT model); returns the model to train."""
        raise NotImplementedError

    def prepare(self, model, cfg, new_ids: list[int], tied: bool, notes: list[str]):
        return self.make_trainable(self.enable_checkpointing(model, cfg), cfg, new_ids, tied, notes)

    def merge(self, model, adapter_dir: Path | None):
        """The trained model as a plain full model (the stage's `model` output)."""
        return model.merge_and_unload() if self.peft else model

    def trainable_parameters(self, arch: Arch, cfg, vocab: int, new_tokens: int) -> int:
        raise NotImplementedError

    def memory(self, arch: Arch, cfg, vocab: int, new_tokens: int) -> MemoryEstimate:
        """Frozen base at `base_bytes` (embeddings and output layer 16-bit); what trains at 16 bytes."""
        n, emb = arch.num_parameters(vocab), arch.embedding_parameters(vocab)
        trainable = self.trainable_parameters(arch, cfg, vocab, new_tokens)
        return MemoryEstimate((n - emb) * self.base_bytes + emb * 2.0, trainable * float(TRAINED_BYTES), trainable)

    def activation_bytes(self, arch: Arch, cfg, compute_bytes: int) -> int:
        """Saved tensors per token and layer that this method adds to a plain decoder layer's."""
        return 0

    def hints(self, strategy: str, num_gpus: int) -> list[str]:
        """What to try when `plan` finds that the stage does not fit."""
        return []
