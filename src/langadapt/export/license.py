"""The base model's license, carried into the card: from its own card's front matter or its GGUF metadata."""

from __future__ import annotations

import json
from pathlib import Path

import yaml

from langadapt.errors import UserError
from langadapt.models.extension import read_extension
from langadapt.models.resolve import resolve_model


def from_readme(folder: Path) -> str | None:
    readme = folder / "README.md"
    if not readme.is_file():
        return None
    text = readme.read_text(encoding="utf-8", errors="replace")
    if not text.startswith("---"):
        return None
    end = text.find("\n---", 3)
    try:
        meta = yaml.safe_load(text[3:end]) if end > 0 else None
    except yaml.YAMLError:
        return None
    value = meta.get("license") if isinstance(meta, dict) else None
    return str(value) if value else None


def from_gguf(path: Path) -> str | None:
    from gguf import GGUFReader

    try:
        field = GGUFReader(str(path)).fields.get("general.license")
        return str(field.contents()) if field is not None else None
    except (OSError, ValueError):
        return None


def base_license(ref: str) -> str | None:
    """License of a model reference (alias, folder, GGUF); None when the model does not say."""
    try:
        resolved = resolve_model(ref)
    except UserError:
        return None
    if resolved.kind == "hub":
        return None  # would need the network; the recipe's export.license covers it
    folder = Path(resolved.weights)
    found = from_readme(folder)
    if found:
        return found
    source = folder / "langadapt_source.json"
    if source.is_file():
        gguf = json.loads(source.read_text(encoding="utf-8")).get("gguf")
        if gguf and Path(gguf).is_file():
            return from_gguf(Path(gguf))
    ext = read_extension(folder)
    if ext:
        parent = ext.get("base_model")
        if parent and parent != ref:
            return base_license(parent)
    return None
