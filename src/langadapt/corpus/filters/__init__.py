"""Clean filters: one registered `Filter` class per filter, each in its own module of this package.

    from langadapt.corpus import filters
    filters.names()                            # ['length', 'script', 'simplified', 'repetition', 'tokens']
    filters.build(["length", "tokens"], FilterContext(cfg, preset, tokenizer_loader))
    filters.register(MyFilter)                 # an extension (see `base.py`): selectable from then on

A filter owns its name, the config keys it reads and how it judges a document, so adding one is one
module with one class plus `register`. The clean config checks `clean.filters` against `names()`
when a recipe is read, and `build` against it again for preset lists, which name filters too.
Registration order is the order the recipe reference lists them in.

The shipped filters are registered by name and `module:class` (`Registry.register_deferred`): the
config and the CLI read the names on every start, and only a clean run imports the filters
themselves (OpenCC tables, numpy, the languages' script classes).
"""

from __future__ import annotations

from langadapt.corpus.filters.base import Filter, FilterContext, Verdict
from langadapt.registry import Registry

_REGISTRY: Registry[type[Filter]] = Registry("filter")
register = _REGISTRY.register
names = _REGISTRY.names
get = _REGISTRY.get


def unregister(name: str) -> None:
    _REGISTRY.unregister(name)


def build(names_: list[str], ctx: FilterContext) -> list[Filter]:
    """The filters to run, in order; one whose settings leave nothing to check (no script) is left out."""
    classes = [get(name) for name in names_]
    return [f for f in (cls.build(ctx) for cls in classes) if f is not None]


for _name, _target in (("length", "length:LengthFilter"), ("script", "script:ScriptFilter"),
                       ("simplified", "simplified:SimplifiedFilter"), ("repetition", "repetition:RepetitionFilter"),
                       ("tokens", "tokens:TokenFilter")):
    _REGISTRY.register_deferred(_name, f"{__name__}.{_target}")

__all__ = ["Filter", "FilterContext", "Verdict", "build", "get", "names", "register", "unregister"]
