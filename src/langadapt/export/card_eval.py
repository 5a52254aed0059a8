"""Model card sections about results: evaluation tables, model-index entries, energy, limitations."""

from __future__ import annotations

from typing import Any

from langadapt.export.card_format import bullets, duration, num, table
from langadapt.export.card_training import TRAIN_STAGES
from langadapt.results import EvalMetrics
from langadapt.stages import stage_metrics

MODEL_ORDER = ("base", "tokenizer", "pretrain", "sft")


def final_label(by_model: dict) -> str | None:
    """The newest model among the evaluated ones (the exported one)."""
    for label in reversed(MODEL_ORDER):
        if label in by_model:
            return label
    return next(reversed(by_model), None) if by_model else None


def _ordered(labels) -> list[str]:
    known = [m for m in MODEL_ORDER if m in labels]
    return known + sorted(m for m in labels if m not in known)


# What each bits-per-character task scores, for the card's wording.
TEXT_OF_TASK = {"udhr-bpc": "the Universal Declaration of Human Rights (same articles in every language)",
                "heldout-bpc": "held-out documents of the cleaned corpus (never trained on)"}


def _per_lang_table(values: dict, what: str, task: str | None = None, sources: dict | None = None) -> list[str]:
    models = _ordered(values)
    langs = sorted({lang for per in values.values() for lang in per})
    rows = [[lang] + [values[m].get(lang, "") for m in models] for lang in langs]
    text = TEXT_OF_TASK.get(task or "", f"`{task}`" if task else "held-out text")
    if sources:  # held-out text is scored per source corpus; name each source's language
        rows = [[f"{r[0]} ({sources[r[0]].get('language')})" if r[0] in sources else r[0], *r[1:]] for r in rows]
        return ([f"{what} on {text}, per source corpus, each sampled evenly (lower is better):", ""]
                + table(["source (language)"] + models, rows) + [""])
    return [f"{what} on {text} (lower is better):", ""] + table(["language"] + models, rows) + [""]


def _bpc_tables(m: EvalMetrics) -> dict[str, dict]:
    """Bits-per-character tables by task; older manifests carry one table under `bpc`."""
    return m.bpc_by_task or ({m.bpc_task or "heldout-bpc": m.bpc} if m.bpc else {})


def evaluation(manifests: dict, images: dict[str, str]) -> list[str]:
    m = stage_metrics(manifests, "eval")
    if m is None:
        return []
    bpc, bpb, tasks = m.bpc or {}, m.bpb or {}, m.tasks or {}
    if not (bpc or bpb or tasks):
        return []
    lines = ["## Evaluation", ""]
    for task, values in _bpc_tables(m).items():
        lines += _per_lang_table(values, "Bits per character", task,
                                 m.heldout_sources if task == "heldout-bpc" else None)
    if bpb:
        lines += _per_lang_table(bpb, "Bits per byte", m.bpc_task)
    for task, per_model in sorted(tasks.items()):
        models = _ordered(per_model)
        metric_names = sorted({k for vals in per_model.values() for k in vals})
        rows = [[name] + [per_model[mod].get(name, "") for mod in models] for name in metric_names]
        lines += [f"Task `{task}`:", ""] + table(["metric"] + models, rows) + [""]
    if "eval.plot" in images:
        lines += [f"![evaluation]({images['eval.plot']})", ""]
    return lines


def model_index(name: str, manifests: dict) -> list[dict]:
    """Hugging Face `model-index` results for the exported model, straight from the eval manifest."""
    m = stage_metrics(manifests, "eval")
    if m is None:
        return []
    results: list[dict] = []
    for task, values in _bpc_tables(m).items():
        label = final_label(values)
        dataset = "UDHR" if task == "udhr-bpc" else "held-out text"
        sources = (m.heldout_sources or {}) if task == "heldout-bpc" else {}
        for lang, value in sorted((values.get(label) or {}).items()):
            # heldout-bpc rows are source corpora: the dataset names the source and its language
            name = f"{dataset} ({lang}, {sources[lang].get('language')})" if lang in sources else f"{dataset} ({lang})"
            results.append({
                "task": {"type": "text-generation", "name": "Language modeling"},
                "dataset": {"name": name, "type": task, "config": lang},
                "metrics": [{"name": f"bits per character ({lang})", "type": "bpc", "value": value}],
            })
    for task, per_model in sorted((m.tasks or {}).items()):
        label = final_label(per_model)
        vals = per_model.get(label) or {}
        numeric = [(k, v) for k, v in sorted(vals.items()) if isinstance(v, (int, float)) and not isinstance(v, bool)]
        if numeric:
            results.append({
                "task": {"type": "text-generation"},
                "dataset": {"name": task, "type": task},
                "metrics": [{"name": k, "type": k, "value": v} for k, v in numeric],
            })
    return [{"name": name, "results": results}] if results else []


def training_hours(manifests: dict) -> tuple[float, str | None]:
    """Measured training hours (train runtime, else stage wall time) and the hardware of the last training stage."""
    seconds, hardware = 0.0, None
    for stage in TRAIN_STAGES:
        m = stage_metrics(manifests, stage)
        if m is None:
            continue
        seconds += float(m.train_runtime_s or manifests[stage].get("wall_time_s") or 0)
        hardware = m.hardware or hardware
    return seconds / 3600.0, hardware


def environment(manifests: dict, energy: dict | None) -> list[str]:
    hours, hardware = training_hours(manifests)
    if hours <= 0:
        return []
    lines = ["## Environmental impact", ""]
    lines += bullets([
        ("Hardware type", hardware),
        ("Hours used", f"{duration(hours * 3600)} ({hours:.3f} h)"),
    ])
    if energy:
        lines += bullets([
            ("Device-hours", f"{energy['device_hours']:.3f} ({energy['devices']} device(s) at {num(energy['tdp_w'])} W board power)"),
            ("Energy (upper bound)", f"{energy['energy_kwh']:.4g} kWh"),
            ("Carbon emitted (estimate)", f"{energy['co2_kg']:.4g} kgCO2eq at {energy['grid_kg_per_kwh']} kgCO2eq/kWh"
             if "co2_kg" in energy else None),
        ])
        lines += ["", "Estimated as device-hours x board power x grid carbon intensity (the Machine Learning "
                      "Impact calculator's method); every device is assumed to draw its full power throughout."]
    return lines + [""]


def limitations(manifests: dict, languages: list[str], base_language: str, base_model: str) -> list[str]:
    notes: list[str] = []
    clean = stage_metrics(manifests, "clean")
    if clean and clean.chars_out:
        notes.append(f"Its {', '.join(languages)} ability comes from {num(clean.chars_out)} characters of cleaned "
                     f"text on top of {base_model}; facts, styles and periods missing from that text are missing from the model.")
    if "sft" not in manifests and "pretrain" in manifests:
        notes.append("It was continued on plain text and not instruction-tuned in this run: expect continuations, "
                     "not answers, unless the base model already followed instructions.")
    tok = stage_metrics(manifests, "tokenizer")
    added = tok.added_tokens if tok else None
    if added:
        notes.append(f"The {num(added)} added tokens were learned from this run's corpus only; text unlike it falls back to the base pieces.")
    ev = stage_metrics(manifests, "eval")
    bpc = (ev.bpc if ev else None) or {}
    final = final_label(bpc)
    base_val, final_val = (bpc.get("base") or {}).get(base_language), (bpc.get(final) or {}).get(base_language)
    if final and final != "base" and base_val is not None and final_val is not None:
        change = (final_val - base_val) / base_val if base_val else 0.0
        verdict = "worse" if change > 0 else "better"
        notes.append(f"On held-out {base_language} text its bits per character went from {num(base_val)} (base) to "
                     f"{num(final_val)} ({abs(change):.1%} {verdict}), a measure of what it kept of its base language.")
    notes.append("Like any language model it can produce fluent text that is false, biased or unsafe; "
                 "check its output before relying on it.")
    return ["## Bias, risks and limitations", ""] + [f"- {n}" for n in notes] + [""]


def framework_versions(manifests: dict) -> list[str]:
    found: dict[str, Any] = {}
    for manifest in manifests.values():
        found.update(manifest.get("versions") or {})
    if not found:
        return []
    return ["## Framework versions", ""] + [f"- {k} {v}" for k, v in sorted(found.items())] + [""]
