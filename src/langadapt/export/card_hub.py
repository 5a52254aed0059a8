"""Front-matter fields as the Hugging Face Hub reads them: language codes, base model, relation, datasets.

    hub_languages(["zh-Hant", "en"])   # HubLanguages(codes=['zh', 'en'], tags=['zh-hant'], ...)
    base_lineage("runs/tibetan-llama2-7b/export/model", None)   # upstream Hub id and the chain to it

The Hub indexes `language` as ISO 639 codes, `base_model` as Hub model ids (a local path breaks the
model tree) and `datasets` as Hub dataset ids, and takes `base_model_relation` from a fixed set. A
recipe speaks BCP 47 (`zh-Hant`), may start from another run's export, and may train on data fetched
from package registries, so each field is translated here and whatever does not fit (script,
region, the chain of runs, non-Hub data sources) goes to tags and the card text instead. Language
names and codes come from the languages registry (`langadapt.languages`).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from langadapt.languages import get as registered

SCRIPT_NAMES = {"Hant": "Traditional script", "Hans": "Simplified script", "Tibt": "Tibetan script",
                "Latn": "Latin script", "Cyrl": "Cyrillic script", "Mong": "Mongolian script", "Arab": "Arabic script"}
_PRIMARY = re.compile(r"^[a-z]{2,3}$")
_HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*(/[\w.-]+)?$")
RELATIONS = ("adapter", "merge", "quantized", "finetune")


@dataclass(frozen=True)
class HubLanguages:
    codes: list[str]
    """ISO 639 codes for `language:`, in the recipe's order, without repeats."""
    tags: list[str]
    """Full BCP 47 tags (lower case) of languages that carry a script or region, for `tags:`."""
    described: list[str]
    """One phrase per recipe language for the card text, e.g. `zh-Hant (Chinese, Traditional script)`."""


def hub_languages(languages: list[str]) -> HubLanguages:
    codes, tags, described = [], [], []
    for tag in languages:
        parts = tag.replace("_", "-").split("-")
        primary = parts[0].lower()
        # The registry's ISO 639 code and name (`langadapt.languages`); any valid subtag still works without one.
        own, named = registered(tag) or registered(primary), registered(primary)
        code = own.hub_code if own else primary
        if not _PRIMARY.match(code):  # not a code the Hub can index: named in the text only
            described.append(tag)
            continue
        codes.append(code)
        notes = []
        for sub in parts[1:]:
            if len(sub) == 4 and sub.isalpha():
                notes.append(SCRIPT_NAMES.get(sub.title(), f"{sub.title()} script"))
            elif (len(sub) == 2 and sub.isalpha()) or (len(sub) == 3 and sub.isdigit()):
                notes.append(f"region {sub.upper()}")
        if len(parts) > 1:
            tags.append(tag.lower())
        name = named.name if named else None
        inner = ", ".join(x for x in [name, *notes] if x)
        described.append(f"{tag} ({inner})" if inner else tag)
    return HubLanguages(list(dict.fromkeys(codes)), list(dict.fromkeys(tags)), described)


def is_hub_id(ref: str | None) -> bool:
    """Looks like `owner/name` (or a legacy un-namespaced id) and is not a path on this machine."""
    if not ref or not _HUB_ID.match(ref) or ref.startswith((".", "/")) or Path(ref).exists():
        return False
    return "/" in ref


@dataclass
class BaseLineage:
    hub_id: str | None
    """The Hub model this model descends from (for `base_model:`), None when no step of the chain is on the Hub."""
    chain: list[dict] = field(default_factory=list)
    """Local runs between this model and `hub_id`, nearest first: {"ref", "name", "base"}."""


def _front_matter(folder: Path) -> dict:
    readme = folder / "README.md"
    try:
        text = readme.read_text(encoding="utf-8") if readme.is_file() else ""
    except OSError:
        return {}
    if not text.startswith("---"):
        return {}
    end = text.find("\n---", 3)
    try:
        meta = yaml.safe_load(text[3:end]) if end > 0 else None
    except yaml.YAMLError:
        return {}
    return meta if isinstance(meta, dict) else {}


def base_lineage(base_model: str, base_model_id: str | None, max_depth: int = 8) -> BaseLineage:
    """Follow a base that is another langadapt export (its langadapt_export.json and card) up to a Hub id."""
    if base_model_id:
        return BaseLineage(base_model_id)
    chain: list[dict] = []
    ref, seen = base_model, set()
    while ref and len(chain) < max_depth:
        folder = Path(ref)
        record_path = folder / "langadapt_export.json"
        if not record_path.is_file() or folder.resolve() in seen:
            break
        seen.add(folder.resolve())
        try:
            record = json.loads(record_path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError):
            break
        meta = _front_matter(folder)
        parent = str(record.get("base_model") or "")
        chain.append({"ref": ref, "name": folder.parent.parent.name if folder.name == "model" else folder.name,
                      "base": meta.get("base_model") or parent})
        if is_hub_id(meta.get("base_model")):
            return BaseLineage(str(meta["base_model"]), chain)
        if is_hub_id(parent):
            return BaseLineage(parent, chain)
        ref = parent
    return BaseLineage(None, chain)


def base_relation(export_format: str | None, trained: bool, quantized: bool = False) -> str:
    """The Hub's `base_model_relation`: an adapter folder is `adapter`; weights we trained (merged
    LoRA or full) are `finetune`; untrained quantised weights are `quantized`. `merge` is the Hub's
    word for combining several models, which no langadapt export does."""
    if export_format == "peft-adapter":
        return "adapter"
    if quantized and not trained:
        return "quantized"
    return "finetune"


def hub_dataset_ids(corpora: list, sft_datasets: list[dict]) -> list[str]:
    ids = [c.hf_dataset for c in corpora if getattr(c, "hf_dataset", None)]
    ids += [d.get("hf_dataset") for d in sft_datasets if isinstance(d, dict) and d.get("hf_dataset")]
    return list(dict.fromkeys(i for i in ids if is_hub_id(i)))


def lineage_lines(base_model: str, lineage: BaseLineage) -> list[str]:
    """Card text for a chained base: which run each step came from, down to the Hub model."""
    if not lineage.chain:
        return []
    lines = ["### Lineage", "", f"This model starts from `{base_model}`, the export of an earlier langadapt run:", ""]
    for step in lineage.chain:
        lines.append(f"- `{step['ref']}` ({step['name']}), built from `{step['base']}`")
    if lineage.hub_id:
        lines += ["", f"so its Hub base model is [{lineage.hub_id}](https://huggingface.co/{lineage.hub_id})."]
    else:
        lines += ["", "No model in this chain is on the Hugging Face Hub, so the card names no `base_model`."]
    return lines + [""]
