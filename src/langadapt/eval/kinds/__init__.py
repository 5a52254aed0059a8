"""Evaluation task kinds: one registered `TaskKind` per way of scoring, each in its own module here.

    from langadapt.eval import kinds
    kinds.names()                   # ['bpc', 'generation', 'multiple_choice', 'lm-eval']
    kinds.get(task.kind).score(model, tokenizer, task, cfg)
    kinds.register(MyKind())        # an extension (see `base.py`): its `tasks` become `eval.tasks` names

A kind owns how its tasks are scored (`score`), what results.md shows for them (`report`), which
figures the manifest and model card keep (`headline`) and its results.png panel (`plot`); the runner
and the report only look the kind up, so adding a kind is one module with one class plus `register`.
The task names a kind brings are registered with it in `langadapt.eval.tasks`, which the eval config
checks `eval.tasks` against when a recipe is read.
"""

from __future__ import annotations

from langadapt.eval import tasks
from langadapt.eval.kinds.base import TaskBuilder, TaskKind
from langadapt.eval.kinds.bpc import BitsPerChar
from langadapt.eval.kinds.choice import MultipleChoice
from langadapt.eval.kinds.generation import Generation
from langadapt.eval.kinds.harness import Harness
from langadapt.registry import Registry

_REGISTRY: Registry[TaskKind] = Registry("task kind")
names = _REGISTRY.names
find = _REGISTRY.find  # None for a kind no longer registered (a results.json written with it)
get = _REGISTRY.get


def register(kind: TaskKind) -> TaskKind:
    """Register the kind and the task names it brings (all or none)."""
    if kind.name in _REGISTRY:
        raise ValueError(f"task kind {kind.name!r} is already registered")
    taken = [name for name in kind.tasks if name in tasks.names()]
    if taken:
        raise ValueError(f"task kind {kind.name!r}: task name(s) {taken} already registered")
    _REGISTRY.register(kind)
    for name, build in kind.tasks.items():
        tasks.register_task(name, build)
    return kind


def unregister(name: str) -> None:
    kind = _REGISTRY.unregister(name)
    for task in (kind.tasks if kind else ()):
        tasks.unregister_task(task)


for _builtin in (BitsPerChar(), Generation(), MultipleChoice(), Harness()):
    register(_builtin)

__all__ = ["TaskBuilder", "TaskKind", "find", "get", "names", "register", "unregister"]
