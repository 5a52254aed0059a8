"""Model card sections about how the model was made: data, preprocessing, tokenizer, hyperparameters, speeds.

Every function takes the stage manifests (stage -> manifest dict) and returns markdown lines, or
an empty list when the run recorded nothing for that section, so the card never shows a placeholder.
Figures are read as typed metrics (langadapt.results via stage_metrics): a metric renamed in a
stage is an error here, never a section that quietly disappears.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from langadapt.atomic import read_json
from langadapt.config.train import PretrainConfig, SftConfig
from langadapt.export.card_format import bullets, duration, num, table
from langadapt.paths import cache_dir
from langadapt.stages import SPECS, stage_metrics
from langadapt.train import methods

TRAIN_STAGES = {s.name: s.title for s in SPECS if s.trains}


def stage_config(manifests: dict, stage: str) -> dict:
    """The stage's own recipe section as recorded in its manifest (orchestrator stores `{stage: section, ...}`)."""
    config = (manifests.get(stage) or {}).get("config") or {}
    inner = config.get(stage)
    return inner if isinstance(inner, dict) else config


def data_source(name: str) -> dict | None:
    """source.json that `langadapt data fetch` leaves beside a fetched corpus (license, origin), if any."""
    data = read_json(cache_dir("data", name) / "source.json")
    return data if isinstance(data, dict) else None


def training_data(corpora: list, manifests: dict) -> list[str]:
    if not corpora:
        return []
    rows = []
    for spec in corpora:
        src = data_source(spec.fetch) if spec.fetch else None
        origin = spec.hf_dataset or (f"`langadapt data fetch {spec.fetch}`" if spec.fetch else spec.path)
        if src:
            # Not a Hub dataset, so the card text carries where it came from: package and version.
            where = src.get("url") or src.get("homepage") or src.get("source")
            package = " ".join(str(x) for x in (src.get("package"), src.get("version")) if x)
            extra = "; ".join(x for x in (f"package {package}" if package else "", where or "") if x)
            origin += f" ({extra})" if extra else ""
        license_ = (src or {}).get("license") or ""
        rows.append([spec.name, origin or "", spec.language or "", spec.role, spec.weight,
                     license_ if isinstance(license_, str) else json.dumps(license_, ensure_ascii=False)])
    lines = ["## Training data", ""]
    lines += table(["corpus", "source", "language", "role", "weight", "license"], rows)
    clean = stage_metrics(manifests, "clean")
    chars, tokens = (clean.chars_out, clean.tokens_out) if clean else (None, None)
    if chars is not None:
        lines += ["", f"After cleaning: {num(chars)} characters" + (f", {num(tokens)} tokens." if tokens is not None else ".")]
    return lines + [""]


def preprocessing(manifests: dict) -> list[str]:
    m = stage_metrics(manifests, "clean")
    if m is None:
        return []
    cfg = stage_config(manifests, "clean")
    lines = ["### Preprocessing", ""]
    lines += bullets([
        ("Preset", m.preset or cfg.get("preset")),
        ("Steps", ", ".join(m.steps) if m.steps else None),
        ("OpenCC conversion", cfg.get("opencc")),
        ("Documents in", m.documents_in),
        ("Documents kept", m.documents_kept),
        ("Documents dropped", m.documents_rejected),
        ("Held out for evaluation", m.heldout_documents),
        ("Characters in / out", f"{num(m.chars_in)} / {num(m.chars_out)}" if m.chars_in is not None and m.chars_out is not None else None),
        ("Tokens out", m.tokens_out),
    ])
    reasons = m.rejects_by_reason or {}
    if reasons:
        lines += ["", "Documents dropped, by reason:", ""]
        lines += table(["reason", "documents"], sorted(reasons.items(), key=lambda kv: -kv[1]))
    return lines + [""]


def tokenizer(manifests: dict) -> list[str]:
    m = stage_metrics(manifests, "tokenizer")
    if m is None:
        return []
    lines = ["### Tokenizer", ""]
    lines += bullets([
        ("Method", m.method),
        ("Base vocabulary", m.base_vocab_size),
        ("Vocabulary", m.vocab_size),
        ("Pieces added", m.added_tokens),
        ("New embedding initialisation", m.init),
    ])
    before, after = m.tokens_per_char_before or {}, m.tokens_per_char_after or {}
    langs = sorted(set(before) | set(after))
    if langs:
        lines += ["", "Tokens per character on held-out text (lower is better):", ""]
        rows = []
        for lang in langs:
            b, a = before.get(lang), after.get(lang)
            ratio = f"{b / a:.2f}x fewer tokens" if b and a else ""
            rows.append([lang, num(b) if b is not None else "", num(a) if a is not None else "", ratio])
        lines += table(["language", "before", "after", "change"], rows)
    bpc_b, bpc_a = m.bpc_before or {}, m.bpc_after_init or {}
    if bpc_b or bpc_a:
        lines += ["", "Bits per character right after resizing, before any training:", ""]
        lines += table(["language", "base", "extended (initialised)"],
                       [[lang, bpc_b.get(lang, ""), bpc_a.get(lang, "")] for lang in sorted(set(bpc_b) | set(bpc_a))])
    return lines + [""]


def _flatten(data: dict, prefix: str = "") -> list[tuple[str, Any]]:
    out = []
    for key, value in data.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict) and value:
            out += _flatten(value, name + ".")
        else:
            out.append((name, value))
    return out


def _describe(model: type[BaseModel], dotted: str) -> str:
    """Field description from the config model, so the card explains each setting in the recipe's own words."""
    current: Any = model
    for part in dotted.split("."):
        field = current.model_fields.get(part) if isinstance(current, type) and issubclass(current, BaseModel) else None
        if field is None:
            return ""
        ann = field.annotation
        current = ann if isinstance(ann, type) and issubclass(ann, BaseModel) else None
        desc = field.description or ""
    return desc


def _relevant(name: str, value: Any, method: str | None) -> bool:
    if value is None or value == [] or name in ("enabled",):
        return False
    # A section some method reads (lora, quant) is shown only for the methods that read it.
    section, found = name.split(".", 1)[0], methods.find(method)
    if any(section in methods.get(m).config_sections for m in methods.names()):
        return found is not None and section in found.config_sections
    if name.startswith("long_context.") and name != "long_context.s2_attn" and not value:
        return False
    return True


def hyperparameters(manifests: dict) -> list[str]:
    lines: list[str] = []
    for stage, title in TRAIN_STAGES.items():
        cfg, m = stage_config(manifests, stage), stage_metrics(manifests, stage)
        if not cfg and m is None:
            continue
        model = PretrainConfig if stage == "pretrain" else SftConfig
        method = (m.method if m else None) or cfg.get("method")
        lines += [f"#### {title} (`{stage}`, {methods.label(method)})", ""]
        effective = (m.hyperparameters if m else None) or {}
        if effective:
            lines += ["As run:", ""] + bullets(sorted((k, v if not isinstance(v, (list, dict)) else json.dumps(v))
                                                     for k, v in effective.items())) + [""]
        rows = [[f"`{k}`", v if not isinstance(v, (list, dict)) else json.dumps(v, ensure_ascii=False), _describe(model, k)]
                for k, v in _flatten(cfg) if _relevant(k, v, method) and k not in effective]
        if rows:
            lines += ["Recipe settings:", ""] + table(["setting", "value", "meaning"], rows) + [""]
    return (["### Training hyperparameters", ""] + lines) if lines else []


def speeds(manifests: dict) -> list[str]:
    lines: list[str] = []
    for stage, title in TRAIN_STAGES.items():
        m = stage_metrics(manifests, stage)
        if m is None:
            continue
        wall = (manifests.get(stage) or {}).get("wall_time_s")
        items = bullets([
            ("Duration (stage wall time)", duration(wall) if wall else None),
            ("Train runtime", duration(m.train_runtime_s) + f" ({num(m.train_runtime_s)} s)" if m.train_runtime_s is not None else None),
            ("Train samples per second", m.train_samples_per_second),
            ("Train steps per second", m.train_steps_per_second),
            ("Train tokens per second", m.train_tokens_per_second),
            ("Total training FLOPs", m.total_flos),
            ("Optimizer steps", m.global_step),
            ("Train loss", m.train_loss),
            ("Validation loss", m.eval_loss),
            ("Peak memory (MB)", m.peak_memory_mb),
            ("Parameters", m.num_parameters),
            ("Trainable parameters", m.trainable_parameters),
            ("Hardware", m.hardware),
        ])
        if items:
            lines += [f"#### {title} (`{stage}`)", ""] + items + [""]
    return (["### Speeds, sizes, times", ""] + lines) if lines else []


def loss_curves(images: dict[str, str]) -> list[str]:
    shown = [(stage, images[f"{stage}.loss_curve"]) for stage in TRAIN_STAGES if f"{stage}.loss_curve" in images]
    if not shown:
        return []
    lines = ["### Training results", ""]
    for stage, rel in shown:
        lines += [f"![{TRAIN_STAGES[stage]} loss]({rel})", ""]
    return lines


def exists(path: Any) -> bool:
    return isinstance(path, str) and Path(path).is_file()
