"""The recipe catalogue: the seed recipes shipped inside the package, to list, read and copy.

    from langadapt.config.catalogue import list_recipes, copy_recipe
    [r.name for r in list_recipes()]; copy_recipe("tibetan-llama2-7b", "my-recipes/")

`langadapt recipes list | show NAME | cp NAME DEST` is the command-line face. The recipes live in
`langadapt/assets/recipes/` so that a pip-installed langadapt has them; the repository's `recipes/`
folder holds the same files (a test keeps the two identical) because the README and the docs run
them from a checkout.
"""

from __future__ import annotations

import difflib
import shutil
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import yaml

from langadapt.errors import UserError


@dataclass(frozen=True)
class RecipeEntry:
    name: str
    description: str
    base_model: str
    languages: list[str]
    path: Path


def catalogue_dir() -> Path:
    return Path(str(resources.files("langadapt") / "assets" / "recipes"))


def _entry(path: Path) -> RecipeEntry:
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    return RecipeEntry(name=path.stem, description=" ".join(str(data.get("description", "")).split()),
                       base_model=str(data.get("base_model", "")), languages=list(data.get("languages") or []),
                       path=path)


def list_recipes() -> list[RecipeEntry]:
    return [_entry(p) for p in sorted(catalogue_dir().glob("*.yaml"))]


def find_recipe(name: str) -> Path:
    stem = name[:-5] if name.endswith(".yaml") else name
    path = catalogue_dir() / f"{stem}.yaml"
    if path.is_file():
        return path
    names = [p.stem for p in sorted(catalogue_dir().glob("*.yaml"))]
    close = difflib.get_close_matches(stem, names, n=1)
    hint = f" (did you mean {close[0]}?)" if close else ""
    raise UserError(f"no shipped recipe named {name!r}{hint}; shipped: {', '.join(names)}")


def copy_recipe(name: str, dest: str | Path, force: bool = False) -> Path:
    """Copy a shipped recipe to DEST (a file, or a folder that gets NAME.yaml); an existing file is
    kept unless `force`, so a recipe the user has edited is never overwritten by accident."""
    source = find_recipe(name)
    dest = Path(dest)
    target = dest / source.name if dest.is_dir() or str(dest).endswith(("/", "\\")) else dest
    if target.exists() and not force:
        raise UserError(f"{target} already exists; pass --force to overwrite it")
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(source, target)
    return target
