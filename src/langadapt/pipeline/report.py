"""The run's final report: `report.md` and `report.html` in the run directory, built from the stage manifests.

It says in numbers what the adaptation did: documents kept and dropped, tokens per character
before and after, bits per character per language and model (English beside the target, so
forgetting shows), task scores, speeds and wall time, with the stages' plots and sample
generations side by side. The figures are read as typed metrics (langadapt.results), so a
metric renamed in a stage fails here instead of leaving a section out.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from langadapt.atomic import write_text
from langadapt.config.recipe import Recipe
from langadapt.pipeline.document import Image, Section, Table, to_html, to_markdown
from langadapt.results import CleanMetrics, EvalMetrics, TokenizerMetrics, TrainMetrics
from langadapt.rundir import RunDir
from langadapt.stages import TRAINING, stage_metrics
from langadapt.stages import stage as stage_spec


def _fmt(value: Any, digits: int = 3) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:,.{digits}f}" if abs(value) < 1e5 else f"{value:,.3g}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def _image(section: Section, root: Path, path: str | None, caption: str) -> None:
    if path and Path(path).is_file():
        section.images.append(Image(os.path.relpath(path, root), caption))


def _clean_section(m: dict, root: Path) -> Section:
    met: CleanMetrics = stage_metrics({"clean": m}, "clean")
    s = Section("Corpus cleaning")
    rows = [["documents in", _fmt(met.documents_in)], ["documents kept", _fmt(met.documents_kept)],
            ["documents rejected", _fmt(met.documents_rejected)], ["held out for evaluation", _fmt(met.heldout_documents)],
            ["characters in / out", f"{_fmt(met.chars_in)} / {_fmt(met.chars_out)}"],
            ["tokens out (base tokenizer)", _fmt(met.tokens_out)], ["preset", _fmt(met.preset)]]
    s.tables.append(Table(["figure", "value"], rows))
    reasons = met.rejects_by_reason or {}
    if reasons:
        s.tables.append(Table(["dropped because", "documents"], [[k, _fmt(v)] for k, v in sorted(reasons.items(), key=lambda kv: -kv[1])]))
    _image(s, root, m["outputs"].get("histogram"), "Document length histogram")
    return s


def _tokenizer_section(m: dict, root: Path) -> Section:
    met: TokenizerMetrics = stage_metrics({"tokenizer": m}, "tokenizer")
    s = Section("Tokenizer extension")
    s.paragraphs.append(f"{_fmt(met.added_tokens)} pieces added to a vocabulary of {_fmt(met.base_vocab_size)} "
                        f"({met.method or '?'}, new embeddings initialised by `{met.init or '?'}`).")
    before, after = met.tokens_per_char_before or {}, met.tokens_per_char_after or {}
    langs = sorted(set(before) | set(after))
    if langs:
        s.tables.append(Table(["language", "tokens/char before", "tokens/char after", "change"],
                              [[lang, _fmt(before.get(lang)), _fmt(after.get(lang)),
                                f"{(after[lang] / before[lang] - 1) * 100:+.0f}%" if before.get(lang) and after.get(lang) else "-"]
                               for lang in langs]))
    bpc_b, bpc_a = met.bpc_before or {}, met.bpc_after_init or {}
    if bpc_b or bpc_a:
        s.tables.append(Table(["language", "bits/char base", "bits/char right after extension"],
                              [[lang, _fmt(bpc_b.get(lang)), _fmt(bpc_a.get(lang))] for lang in sorted(set(bpc_b) | set(bpc_a))]))
    by_source = _tokenizer_by_source(met)
    if by_source:
        s.tables.append(by_source)
    _image(s, root, m["outputs"].get("chart"), "Tokens per character, base vs extended")
    return s


def _tokenizer_by_source(met: TokenizerMetrics) -> Table | None:
    """Per held-out source corpus: tokens/char and bits/char of the base and right after extension."""
    langs = met.heldout_source_languages or {}
    if not langs:
        return None
    tb, ta = met.tokens_per_char_by_source_before or {}, met.tokens_per_char_by_source_after or {}
    bb, ba = met.bpc_by_source_before or {}, met.bpc_by_source_after_init or {}
    rows = [[f"{src} ({lang})", _fmt(tb.get(src)), _fmt(ta.get(src)), _fmt(bb.get(src)), _fmt(ba.get(src)),
             f"{ba[src] / bb[src]:.2f}x" if bb.get(src) and ba.get(src) else "-"] for src, lang in langs.items()]
    return Table(["held-out source", "tokens/char base", "tokens/char extended", "bits/char base",
                  "bits/char right after extension", "ratio to base"], rows)


def _train_section(stage: str, m: dict, root: Path) -> Section:
    met: TrainMetrics = stage_metrics({stage: m}, stage)
    title = stage_spec(stage).title
    s = Section(title)
    keys = [("method", "method"), ("optimizer steps", "global_step"), ("train loss", "train_loss"), ("validation loss", "eval_loss"),
            ("tokens/s", "train_tokens_per_second"), ("samples/s", "train_samples_per_second"), ("steps/s", "train_steps_per_second"),
            ("total FLOPs", "total_flos"), ("runtime (s)", "train_runtime_s"), ("trainable parameters", "trainable_parameters"),
            ("peak memory (MB)", "peak_memory_mb"), ("hardware", "hardware")]
    s.tables.append(Table(["figure", "value"], [[label, _fmt(getattr(met, key))] for label, key in keys if getattr(met, key) is not None]))
    _image(s, root, m["outputs"].get("loss_curve"), f"{title} loss")
    return s


def _eval_sections(m: dict, root: Path) -> list[Section]:
    met: EvalMetrics = stage_metrics({"eval": m}, "eval")
    out = []
    by_task = met.bpc_by_task or ({met.bpc_task or "bpc": met.bpc} if met.bpc else {})
    if by_task:
        s = Section("Bits per character (lower is better; comparable across tokenizers)")
        s.paragraphs.append("Each model scores the same texts; per-token perplexity is not shown because it cannot be "
                            "compared once the tokenizer changes.")
        sources = met.heldout_sources or {}
        if sources and "heldout-bpc" in by_task:
            s.tables.append(_text_table(met, by_task))
            s.paragraphs.append(f"Held-out text: up to the same number of characters sampled evenly from each source's "
                                f"held-out documents (never trained on); the mean rows are {met.heldout_bpc_average}.")
        for task, table in by_task.items():
            if sources and task in ("heldout-bpc", "udhr-bpc"):
                continue
            models = list(table)
            langs = sorted({lang for v in table.values() for lang in v})
            s.tables.append(Table([f"{task}: language", *models],
                                  [[lang, *(_fmt(table[mod].get(lang)) for mod in models)] for lang in langs]))
        out.append(s)
    tasks = met.tasks or {}
    if tasks:
        s = Section("Task scores")
        models = sorted({mod for v in tasks.values() for mod in v}, key=lambda x: ["base", "tokenizer", "pretrain", "sft"].index(x) if x in ["base", "tokenizer", "pretrain", "sft"] else 9)
        rows = []
        for task, per_model in tasks.items():
            metrics = sorted({k for v in per_model.values() if isinstance(v, dict) for k in v})
            for metric in metrics:
                rows.append([task, metric, *(_fmt((per_model.get(mod) or {}).get(metric)) for mod in models)])
        s.tables.append(Table(["task", "metric", *models], rows))
        out.append(s)
    for key, path in m["outputs"].items():
        if str(path).endswith(".png") and out:
            _image(out[-1], root, path, f"Evaluation: {key}")
    samples = _samples(m["outputs"].get("results"))
    if samples:
        out.append(samples)
    return out


def _text_table(met: EvalMetrics, by_task: dict) -> Table:
    """Held-out bits per character per source, each language's mean over its sources, then UDHR."""
    sources, held, means = met.heldout_sources, by_task["heldout-bpc"], met.heldout_bpc or {}
    udhr = by_task.get("udhr-bpc") or {}
    models = list(dict.fromkeys([*held, *udhr]))
    rows = [[f"held-out {src} ({info.get('language')}, {_fmt(info.get('characters'))} chars)",
             *(_fmt((held.get(mod) or {}).get(src)) for mod in models)] for src, info in sources.items()]
    langs = list(dict.fromkeys(info.get("language") for info in sources.values()))
    for lang in langs:
        n = sum(1 for info in sources.values() if info.get("language") == lang)
        if n > 1:
            rows.append([f"held-out {lang}: mean of {n} sources", *(_fmt((means.get(mod) or {}).get(lang)) for mod in models)])
    for lang in sorted({lang for v in udhr.values() for lang in v}):
        rows.append([f"UDHR {lang}", *(_fmt((udhr.get(mod) or {}).get(lang)) for mod in models)])
    return Table(["text", *models], rows)


def _samples(results_path: str | None, limit: int = 4) -> Section | None:
    """Generations of each model on the same prompts, side by side, from the eval stage's results."""
    if not results_path or not Path(results_path).is_file():
        return None
    try:
        results = json.loads(Path(results_path).read_text(encoding="utf-8"))
    except json.JSONDecodeError:
        return None
    for task, entry in (results.get("tasks") or {}).items():
        per_model = entry.get("examples") or {}
        models = [m for m, rows in per_model.items() if rows]
        if entry.get("kind") != "generation" or not models:
            continue
        rows = []
        for i in range(min(limit, min(len(per_model[m]) for m in models))):
            first = per_model[models[0]][i]
            rows.append([first.get("prompt", ""), first.get("reference", ""),
                         *(str(per_model[m][i].get("prediction", "")).strip()[:120] for m in models)])
        if rows:
            return Section(f"Sample generations ({task}, greedy)", tables=[Table(["prompt", "reference", *models], rows)])
    return None


def build_sections(recipe: Recipe, rundir: RunDir) -> list[Section]:
    root = rundir.root
    manifests = rundir.manifests()
    overview = Section("Overview")
    overview.paragraphs.append(f"Base model `{recipe.base_model}` adapted to {', '.join(recipe.languages)}. "
                               + (recipe.description.strip() if recipe.description else ""))
    overview.tables.append(Table(["stage", "wall time (s)", "key figure"],
                                 [[st, _fmt(m.get("wall_time_s"), 1), _key_figure(st, stage_metrics(manifests, st))] for st, m in manifests.items()]))
    total = sum(m.get("wall_time_s") or 0 for m in manifests.values())
    overview.paragraphs.append(f"Total wall time of the stages: {total / 60:.1f} minutes.")
    sections = [overview]
    if "clean" in manifests:
        sections.append(_clean_section(manifests["clean"], root))
    if "tokenizer" in manifests:
        sections.append(_tokenizer_section(manifests["tokenizer"], root))
    for stage in TRAINING:
        if stage in manifests:
            sections.append(_train_section(stage, manifests[stage], root))
    if "eval" in manifests:
        sections += _eval_sections(manifests["eval"], root)
    baseline = root / "baseline" / "baseline.json"
    if baseline.is_file():
        sections.append(_baseline_section(json.loads(baseline.read_text(encoding="utf-8")), root))
    if "export" in manifests:
        export = manifests["export"]["outputs"].get("export")
        sections.append(Section("Use the result", code=[f"langadapt chat {export}", f"langadapt serve {export}",
                                                        f"vllm serve {export}"]))
    return sections


def _baseline_section(data: dict, root: Path | None = None) -> Section:
    s = Section("Against the naive route")
    s.paragraphs.append(data.get("description", ""))
    s.tables.append(Table(["run", *data.get("columns", [])], [[r[0], *(_fmt(v) for v in r[1:])] for r in data.get("rows", [])]))
    if root is not None:
        _image(s, root, data.get("chart"), "Bits per character per held-out source and UDHR, per run")
    return s


def _key_figure(stage: str, met: Any) -> str:
    if stage == "clean":
        return f"{_fmt(met.documents_kept)} kept, {_fmt(met.documents_rejected)} rejected"
    if stage == "tokenizer":
        return f"+{_fmt(met.added_tokens)} pieces"
    if stage in TRAINING:
        return f"loss {_fmt(met.train_loss)}, {_fmt(met.train_tokens_per_second, 1)} tokens/s"
    if stage == "export":
        return f"version {met.version or '-'}"
    return ""


def finish_report(recipe: Recipe) -> Path:
    rundir = RunDir(recipe.run_path())
    sections = build_sections(recipe, rundir)
    title = f"langadapt report: {recipe.name}"
    write_text(rundir.root / "report.md", to_markdown(title, sections))
    write_text(rundir.root / "report.html", to_html(title, sections))
    print(f"report: {rundir.root / 'report.md'} and {rundir.root / 'report.html'}")
    return rundir.root / "report.md"
