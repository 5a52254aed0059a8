"""Training methods: one registered object per method, each in its own module of this package.

    from langadapt.train import methods
    method = methods.get(cfg.method)            # a TrainingMethod; unknown names raise UserError
    methods.register(MyMethod())                # an extension: `pretrain.method=my-name` is then valid
    full        every weight trains
    lora        LoRA on cfg.lora.target_modules; new token rows train too (PEFT trainable tokens)
    qlora       as lora on a 4-bit NF4 base (bitsandbytes, CUDA only)
    embeddings  only the rows of the tokens added by the tokenizer stage (stage one of Chinese-LLaMA)

A method prepares the loaded model (what trains), merges it for export, estimates its memory for
`langadapt plan` and labels the model card. Everything else (loading, precision, long context,
optimiser groups) is shared in `langadapt.train.loading`. The recipe's `method` field is checked
against `names()` when a recipe is read, so a method registered later is accepted from then on.

The shipped methods are registered by name and `module:object` (`Registry.register_deferred`):
reading a recipe checks the names, and only the code that trains, plans or exports imports them.
"""

from __future__ import annotations

from langadapt.registry import Registry
from langadapt.train.methods.base import MemoryEstimate, TrainingMethod

_REGISTRY: Registry[TrainingMethod] = Registry("training method")
register = _REGISTRY.register
names = _REGISTRY.names
find = _REGISTRY.find  # None for a name no longer registered (a manifest written with it)
get = _REGISTRY.get


def unregister(name: str) -> None:
    _REGISTRY.unregister(name)


def label(name: str | None) -> str:
    """How the model card names a method; an unregistered name is shown as recorded."""
    method = find(name)
    return method.label if method else (name or "")


# Registration order is the order the recipe reference and `--method` choices list them in.
for _name, _target in (("full", "full:FULL"), ("lora", "lora:LORA"), ("qlora", "qlora:QLORA"),
                       ("embeddings", "embeddings:EMBEDDINGS")):
    _REGISTRY.register_deferred(_name, f"{__name__}.{_target}")

__all__ = ["MemoryEstimate", "TrainingMethod", "find", "get", "label", "names", "register", "unregister"]
