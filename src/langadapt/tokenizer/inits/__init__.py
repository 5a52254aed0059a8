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
"""

from __future__ import annotations

from langadapt.registry import Registry
from langadapt.tokenizer.inits.base import InitMethod, NewPieces, spelling_means
from langadapt.tokenizer.inits.calibrated import Calibrated
from langadapt.tokenizer.inits.fitted import Fitted
from langadapt.tokenizer.inits.focus import Focus
from langadapt.tokenizer.inits.freq_weighted import FreqWeighted
from langadapt.tokenizer.inits.mean import Mean
from langadapt.tokenizer.inits.random_rows import Random

_REGISTRY: Registry[InitMethod] = Registry("init", listing="choose one of")
register = _REGISTRY.register
names = _REGISTRY.names
get = _REGISTRY.get


def unregister(name: str) -> None:
    _REGISTRY.unregister(name)


# Registration order is the order the recipe reference, `--init` choices and `compare_inits` use.
for _builtin in (Mean(), Fitted(), Random(), FreqWeighted(), Focus(), Calibrated()):
    register(_builtin)

__all__ = ["InitMethod", "NewPieces", "get", "names", "register", "spelling_means", "unregister"]
