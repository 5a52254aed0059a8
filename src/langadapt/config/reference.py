"""The recipe reference, generated from the config model (docs/recipe-reference.md).

    python -m langadapt.config.reference > docs/recipe-reference.md
"""

from __future__ import annotations

import typing

from pydantic import BaseModel
from pydantic_core import PydanticUndefined

from langadapt.choices import OneOf, one_of
from langadapt.config.recipe import Recipe


def _type_name(annotation: typing.Any) -> str:
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin is typing.Literal:
        return " \\| ".join(f"`{a}`" for a in args)
    if origin is typing.Annotated:  # a list item named from a registry (clean filters, normalisers)
        registered = next((m for m in annotation.__metadata__ if isinstance(m, OneOf)), None)
        return " \\| ".join(f"`{n}`" for n in registered.names()) if registered else _type_name(args[0])
    if origin in (typing.Union, getattr(__import__("types"), "UnionType", None)):
        return " or ".join(_type_name(a) for a in args if a is not type(None)) + (" or null" if type(None) in args else "")
    if origin is list:
        return f"list of {_type_name(args[0])}" if args else "list"
    if origin is dict:
        return "mapping"
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return "section"
    return getattr(annotation, "__name__", str(annotation))


def _default(field) -> str:
    if field.default is not PydanticUndefined:
        value = field.default
    elif field.default_factory is not None:
        try:
            value = field.default_factory()
        except TypeError:
            return ""
    else:
        return "required"
    if isinstance(value, BaseModel):
        return ""
    return f"`{value!r}`" if value not in ("",) else "`''`"


def _sections(model: type[BaseModel], prefix: str) -> list[tuple[str, type[BaseModel]]]:
    found = [(prefix, model)]
    for name, field in model.model_fields.items():
        for candidate in [field.annotation, *typing.get_args(field.annotation)]:
            inner = typing.get_args(candidate) if typing.get_origin(candidate) is list else ()
            for sub in [candidate, *inner]:
                if isinstance(sub, type) and issubclass(sub, BaseModel):
                    key = f"{prefix}.{name}" if prefix else name
                    if typing.get_origin(candidate) is list:
                        key += "[]"
                    found += _sections(sub, key)
    return found


def markdown() -> str:
    out = ["# Recipe reference", "",
           "Generated from the config model (`python -m langadapt.config.reference`); every key below is also a",
           "`key.sub=value` override on the command line, and unknown keys are errors.", ""]
    seen = set()
    for prefix, model in _sections(Recipe, ""):
        if prefix in seen:
            continue
        seen.add(prefix)
        out += [f"## `{prefix or '(top level)'}`", ""]
        if model.__doc__ and prefix:
            out += [model.__doc__.strip().splitlines()[0], ""]
        out += ["| key | type | default | what it does |", "|---|---|---|---|"]
        for name, field in model.model_fields.items():
            desc = (field.description or "").replace("|", "\\|").replace("\n", " ")
            registered = one_of(field)
            kind = " \\| ".join(f"`{n}`" for n in registered.names()) if registered else _type_name(field.annotation)
            out.append(f"| `{name}` | {kind} | {_default(field)} | {desc} |")
        out.append("")
    return "\n".join(out)


if __name__ == "__main__":
    print(markdown())
