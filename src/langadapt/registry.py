"""One name -> object table, the mechanism behind every extension point's registry.

    from langadapt.registry import Registry
    METHODS: Registry[TrainingMethod] = Registry("training method")
    METHODS.register(Full())            # keyed by the object's `name`; a second one of that name is an error
    METHODS.get("full")                 # unknown names raise UserError listing the known ones
    METHODS.find("gone")                # None instead (e.g. a manifest naming something no longer registered)

Why one class: training methods, inits, filters, normalisers and eval task kinds each need the same
register / unregister / names / lookup, with the same errors; each package keeps its own module-level
functions (its public API) and any extra rules on top, e.g. a task kind also registering its tasks.
Registration order is kept: it is the order recipe references and CLI choices list names in.
"""

from __future__ import annotations

from typing import Generic, TypeVar

from langadapt.errors import UserError

T = TypeVar("T")


class Registry(Generic[T]):
    def __init__(self, kind: str, listing: str = "known"):
        self.kind = kind
        self.listing = listing
        self._items: dict[str, T] = {}

    def register(self, item: T) -> T:
        name = item.name  # type: ignore[attr-defined]
        if name in self._items:
            raise ValueError(f"{self.kind} {name!r} is already registered")
        self._items[name] = item
        return item

    def unregister(self, name: str) -> T | None:
        return self._items.pop(name, None)

    def names(self) -> list[str]:
        return list(self._items)

    def __contains__(self, name: object) -> bool:
        return name in self._items

    def find(self, name: str | None) -> T | None:
        return self._items.get(name) if name else None

    def get(self, name: str) -> T:
        item = self.find(name)
        if item is None:
            raise UserError(f"unknown {self.kind} {name!r}; {self.listing}: {', '.join(self._items)}")
        return item
