"""Embedding init methods: one registered object per init, each in its own module of this package.

    from langadapt.tokenizer import inits
    method = inits.get(cfg.init)                # an InitMethod; unknown names raise UserError
    inits.register(MyInit())                    # an extension: `tokenizer.init=my-name` is then valid
    mean           plain mean of the spelling's base rows (the recipe default)
    fitted         the mean, then input rows distilled and output rows softmax-fitted on training text
    random         normal(0, initializer_range), for comparison
    freq-weighted  smooth-inverse-frequency weighted mean of the spelling
    focus          FOCUS-style sparse mix of the overlapping base tokens
    calibrated     the mean, then the output side ridge-fitted on training text

An init computes the new rows' starting values and, when it `needs_text`, fits them on training
text after the resize (`extend_embeddings` does the resizing, tying and padding for every init).
The recipe's `tokenizer.init`, the CLI's `--init` choices, `compare_inits` and the init benchmark
all read `names()`, so an init registered later is accepted by each of them from then on.

The shipped inits are registered by name and `module:object` (`Registry.register_deferred`): reading
a recipe checks the names, and only the tokenizer stage imports the inits (and their fitting code).
"""

from __future__ import annotations

from langadapt.registry import Registry
from langadapt.tokenizer.inits.base import InitMethod, NewPieces, spelling_means

_REGISTRY: Registry[InitMethod] = Registry("init", listing="choose one of")
register = _REGISTRY.register
names = _REGISTRY.names
get = _REGISTRY.get


def unregister(name: str) -> None:
    _REGISTRY.unregister(name)


# Registration order is the order the recipe reference, `--init` choices and `compare_inits` use.
for _name, _target in (("mean", "mean:MEAN"), ("fitted", "fitted:FITTED"), ("random", "random_rows:RANDOM"),
                       ("freq-weighted", "freq_weighted:FREQ_WEIGHTED"), ("focus", "focus:FOCUS"),
                       ("calibrated", "calibrated:CALIBRATED")):
    _REGISTRY.register_deferred(_name, f"{__name__}.{_target}")

__all__ = ["InitMethod", "NewPieces", "get", "names", "register", "spelling_means", "unregister"]
