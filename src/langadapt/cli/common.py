"""Helpers shared by the CLI commands: recipe arguments, flags generated from the config model, error handling."""

from __future__ import annotations

import argparse
import sys
import typing
from collections.abc import Sequence as SequenceABC
from typing import Any, Callable, Sequence

from pydantic import BaseModel

from langadapt.choices import one_of
from langadapt.errors import UserError


def add_recipe_args(parser: argparse.ArgumentParser, required: bool = False) -> None:
    if required:
        parser.add_argument("recipe", help="Recipe YAML file.")
    else:
        parser.add_argument("--recipe", help="Recipe YAML file to take settings from (flags and overrides win).")
    parser.add_argument("overrides", nargs="*", default=[], metavar="key.sub=value",
                        help="Override recipe settings, e.g. pretrain.learning_rate=1e-4 clean.dedup.near=false.")


class LazyChoices(SequenceABC):
    """`choices=` read from `load()` when first needed: checking a value, an error, `%(choices)s` in a help text.

    Give the argument a `metavar` too: argparse formats the usage of every argument when it is added,
    and without a metavar that lists the choices, so building the parser would load them anyway.
    """

    def __init__(self, load: Callable[[], Sequence[str]]):
        self._load = load

    def _names(self) -> Sequence[str]:
        return self._load()

    def __getitem__(self, index):  # type: ignore[override]
        return self._names()[index]

    def __len__(self) -> int:
        return len(self._names())

    def __contains__(self, value: object) -> bool:
        return value in self._names()

    def __iter__(self):
        return iter(self._names())


def _scalar_type(annotation: Any) -> type | None:
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, getattr(__import__("types"), "UnionType", None)):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        if len(args) == 1:
            return _scalar_type(args[0])
        # A number or a keyword (`new_tokens: 8000 | auto`): passed on as text, the config validates it.
        return str if all(_scalar_type(a) in (int, float, str) for a in args) else None
    if origin is typing.Literal:
        return str
    if annotation in (int, float, str, bool):
        return annotation
    return None


def add_config_flags(parser: argparse.ArgumentParser, model: type[BaseModel], section: str,
                     skip: Sequence[str] = ()) -> None:
    """One `--flag` per scalar field of a config section, with the field's own description as help.

    Values are collected as `section.field=value` overrides, so the recipe model stays the single
    source of names, defaults, validation and docs.
    """
    group = parser.add_argument_group(f"{section} settings (same as the recipe's `{section}` section)")
    for name, field in model.model_fields.items():
        if name in skip:
            continue
        kind = _scalar_type(field.annotation)
        if kind is None:
            continue
        flag = "--" + name.replace("_", "-")
        default = field.default if field.default is not None else "none"
        help_text = f"{field.description or ''} [default: {default}]"
        choices = None
        registered = one_of(field)
        if registered is not None:
            choices = list(registered.names())
        elif typing.get_origin(field.annotation) is typing.Literal:
            choices = list(typing.get_args(field.annotation))
        else:
            members = [a for a in typing.get_args(field.annotation) if a is not type(None)]
            inner = [a for a in members if typing.get_origin(a) is typing.Literal]
            if inner and len(members) == 1:
                choices = list(typing.get_args(inner[0]))
        dest = f"cfg__{section}__{name}"
        if kind is bool:
            group.add_argument(flag, dest=dest, action=argparse.BooleanOptionalAction, default=None, help=help_text)
        else:
            group.add_argument(flag, dest=dest, default=None, choices=choices, help=help_text,
                               type=str, metavar=None if choices else name.upper())


def collect_config_flags(args: argparse.Namespace) -> list[str]:
    """Turn the generated flags that were given into `section.field=value` overrides."""
    found = []
    for key, value in vars(args).items():
        if key.startswith("cfg__") and value is not None:
            _, section, name = key.split("__", 2)
            found.append(f"{section}.{name}={str(value).lower() if isinstance(value, bool) else value}")
    return found


def run_guarded(func: Callable[[argparse.Namespace], int | None], args: argparse.Namespace) -> int:
    try:
        code = func(args)
    except UserError as exc:
        print(f"langadapt: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("langadapt: interrupted", file=sys.stderr)
        return 130
    return int(code or 0)


def not_built(name: str) -> Callable[[argparse.Namespace], int]:
    def handler(args: argparse.Namespace) -> int:
        print(f"langadapt {name}: this stage is not built yet in this version of langadapt.", file=sys.stderr)
        return 3

    return handler
