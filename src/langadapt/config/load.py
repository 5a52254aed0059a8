"""Read a recipe from YAML, apply `key.sub=value` overrides, and turn validation errors into one clear line each."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

from pydantic import BaseModel, ValidationError

from langadapt.choices import closest
from langadapt.config.recipe import Recipe
from langadapt.errors import UserError


# Names people bring from other tools; difflib alone would not find these.
KNOWN_ALIASES = {
    "rank": "r", "lora_rank": "r", "lora_alpha": "alpha", "lr": "learning_rate", "min_lr": "min_learning_rate",
    "epoch": "epochs", "num_epochs": "epochs", "num_train_epochs": "epochs", "batch_size": "per_device_batch_size",
    "train_batch_size": "per_device_batch_size", "grad_accum": "gradient_accumulation_steps",
    "cutoff_len": "max_seq_length", "max_length": "max_seq_length", "model": "base_model",
    "lr_scheduler_type": "lr_scheduler", "warmup": "warmup_steps",
}


def suggest(key: str, valid: list[str]) -> str | None:
    alias = KNOWN_ALIASES.get(key)
    if alias in valid:
        return alias
    return closest(key, valid)


class RecipeError(UserError, ValueError):
    """A recipe that cannot be used; the message is meant for the user as is."""


def parse_override(text: str) -> tuple[list[str], Any]:
    if "=" not in text:
        raise RecipeError(f"override {text!r}: expected key.sub=value")
    key, raw = text.split("=", 1)
    key = key.strip()
    if not key or any(not part for part in key.split(".")):
        raise RecipeError(f"override {text!r}: empty key")
    import yaml  # ~10 ms that building the CLI parsers (`langadapt --help`) does not need

    # YAML gives numbers, booleans, lists ([a, b]) and null the same meaning as in the file.
    try:
        value = yaml.safe_load(raw) if raw.strip() else ""
    except yaml.YAMLError:
        value = raw
    return key.split("."), value


def apply_overrides(data: dict, overrides: Sequence[str]) -> dict:
    for text in overrides:
        path, value = parse_override(text)
        node = data
        for i, part in enumerate(path[:-1]):
            if isinstance(node, list):
                node = _list_item(node, part, text)
                continue
            child = node.get(part)
            if child is None:
                child = node[part] = {}
            if not isinstance(child, (dict, list)):
                raise RecipeError(f"override {text!r}: {'.'.join(path[: i + 1])} is a value, not a section")
            node = child
        if isinstance(node, list):
            idx = _list_index(node, path[-1], text)
            node[idx] = value
        else:
            node[path[-1]] = value
    return data


def _list_index(node: list, part: str, text: str) -> int:
    if not part.isdigit() or int(part) >= len(node):
        raise RecipeError(f"override {text!r}: {part!r} is not an index of a list of {len(node)}")
    return int(part)


def _list_item(node: list, part: str, text: str) -> Any:
    return node[_list_index(node, part, text)]


def _model_at(model: type[BaseModel], loc: Sequence[Any]) -> type[BaseModel] | None:
    """Walk the config classes along an error location to find the section it points into."""
    current: Any = model
    for part in loc:
        if isinstance(part, int):
            continue
        if not (isinstance(current, type) and issubclass(current, BaseModel)):
            return None
        field = current.model_fields.get(str(part))
        if field is None:
            return None
        current = _section_type(field.annotation)
    return current if isinstance(current, type) and issubclass(current, BaseModel) else None


def _section_type(annotation: Any) -> Any:
    args = getattr(annotation, "__args__", None)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in args or ():
        found = _section_type(arg)
        if found is not None:
            return found
    return None


def format_error(err: dict, source: str) -> str:
    loc = [p for p in err["loc"]]
    key_path = ".".join(str(p) for p in loc) or "(top level)"
    if err["type"] == "extra_forbidden":
        parent = _model_at(Recipe, loc[:-1])
        hint = ""
        if parent is not None:
            close = suggest(str(loc[-1]), list(parent.model_fields))
            if close:
                hint = f", did you mean {close}?"
        return f"{source}: {key_path}: unknown key{hint}"
    if err["type"] == "missing":
        return f"{source}: {key_path}: required key is missing"
    got = err.get("input")
    shown = "" if isinstance(got, (dict, list)) else f" (got {got!r})"
    # Names from a registry (OneOf) travel with the error, so a misspelt one gets a suggestion too.
    choices = (err.get("ctx") or {}).get("choices")
    close = closest(got, choices) if isinstance(got, str) and choices else None
    return f"{source}: {key_path}: {err['msg']}{shown}" + (f", did you mean {close}?" if close else "")


def recipe_from_dict(data: dict, source: str = "<recipe>", overrides: Sequence[str] = ()) -> Recipe:
    if not isinstance(data, dict):
        raise RecipeError(f"{source}: a recipe is a YAML mapping, got {type(data).__name__}")
    data = apply_overrides(data, overrides)
    try:
        return Recipe.model_validate(data)
    except ValidationError as exc:
        raise RecipeError("\n".join(format_error(e, source) for e in exc.errors())) from None


def load_recipe(path: str | Path, overrides: Sequence[str] = ()) -> Recipe:
    path = Path(path)
    if not path.is_file():
        raise RecipeError(f"{path}: no such recipe file")
    import yaml  # see parse_override

    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f":{mark.line + 1}:{mark.column + 1}" if mark else ""
        raise RecipeError(f"{path}{where}: not valid YAML: {getattr(exc, 'problem', exc)}") from None
    recipe = recipe_from_dict(data, str(path), overrides)
    recipe._source = path.resolve()
    return recipe


def dump_recipe(recipe: Recipe) -> str:
    import yaml  # see parse_override

    return yaml.safe_dump(recipe.model_dump(mode="json"), allow_unicode=True, sort_keys=False)
