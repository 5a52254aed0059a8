"""One name -> object table, the mechanism behind every extension point's registry.

    from langadapt.registry import Registry
    METHODS: Registry[TrainingMethod] = Registry("training method")
    METHODS.register(Full())            # keyed by the object's `name`; a second one of that name is an error
    METHODS.get("full")                 # unknown names raise UserError listing the known ones
    METHODS.find("gone")                # None instead (e.g. a manifest naming something no longer registered)
    FILTERS.register_deferred("length", "langadapt.corpus.filters.length:LengthFilter")  # imported when looked up

Why one class: training methods, inits, filters, normalisers and eval task kinds each need the same
register / unregister / names / lookup, with the same errors; each package keeps its own module-level
functions (its public API) and any extra rules on top, e.g. a task kind also registering its tasks.
Registration order is kept: it is the order recipe references and CLI choices list names in.

A deferred entry is a name and the `module:attribute` of its object, imported at its first lookup:
the config checks names and the CLI lists them as choices on every start, while the objects' modules
(regexes compiled at import, numpy, ...) are needed only by the run that uses them. `names()` and
`in` never import; `get`, `find` and `unregister` return the object itself.
"""

from __future__ import annotations

import importlib
from typing import Generic, TypeVar

from langadapt.errors import UserError

T = TypeVar("T")


class _Deferred:
    """A registered name whose object is `module:attribute`, not imported yet."""

    __slots__ = ("target",)

    def __init__(self, target: str):
        self.target = target


class Registry(Generic[T]):
    def __init__(self, kind: str, listing: str = "known"):
        self.kind = kind
        self.listing = listing
        self._items: dict[str, T | _Deferred] = {}

    def register(self, item: T) -> T:
        name = item.name  # type: ignore[attr-defined]
        if name in self._items:
            raise ValueError(f"{self.kind} {name!r} is already registered")
        self._items[name] = item
        return item

    def register_deferred(self, name: str, target: str) -> None:
        """Register `name` as the object at `target` ("package.module:attribute"), imported when first looked up."""
        if name in self._items:
            raise ValueError(f"{self.kind} {name!r} is already registered")
        if ":" not in target:
            raise ValueError(f"{self.kind} {name!r}: target {target!r} is not 'module:attribute'")
        self._items[name] = _Deferred(target)

    def _load(self, name: str, entry: _Deferred) -> T:
        module, _, attribute = entry.target.partition(":")
        item = getattr(importlib.import_module(module), attribute)
        if getattr(item, "name", name) != name:
            raise ValueError(f"{self.kind} {name!r}: {entry.target} is named {item.name!r}")
        if self._items.get(name) is entry:  # not unregistered meanwhile: from now on the object itself
            self._items[name] = item
        return item

    def unregister(self, name: str) -> T | None:
        item = self._items.pop(name, None)
        return self._load(name, item) if isinstance(item, _Deferred) else item

    def names(self) -> list[str]:
        return list(self._items)

    def __contains__(self, name: object) -> bool:
        return name in self._items

    def find(self, name: str | None) -> T | None:
        item = self._items.get(name) if name else None
        return self._load(name, item) if isinstance(item, _Deferred) else item  # type: ignore[arg-type]

    def get(self, name: str) -> T:
        item = self.find(name)
        if item is None:
            raise UserError(f"unknown {self.kind} {name!r}; {self.listing}: {', '.join(self._items)}")
        return item
