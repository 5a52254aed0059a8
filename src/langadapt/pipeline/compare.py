"""The demo against the naive route: same cleaned corpus, same training minutes, same held-out text."""

from __future__ import annotations

from langadapt.atomic import write_json
from langadapt.config.recipe import Recipe
from langadapt.rundir import RunDir


def _heldout(metrics: dict, label: str, lang: str) -> float | None:
    return ((metrics.get("heldout_bpc") or {}).get(label) or {}).get(lang)


def _udhr(metrics: dict, label: str, lang: str) -> float | None:
    return (((metrics.get("bpc_by_task") or {}).get("udhr-bpc") or {}).get(label) or {}).get(lang)


def comparison_rows(main: dict, baseline: dict, lang: str, base_lang: str) -> list[list]:
    ev, bev = main.get("eval", {}).get("metrics", {}), baseline.get("eval", {}).get("metrics", {})
    tok = main.get("tokenizer", {}).get("metrics", {})
    tpc_before = (tok.get("tokens_per_char_before") or {}).get(lang)
    tpc_after = (tok.get("tokens_per_char_after") or {}).get(lang, tpc_before)
    train, btrain = main.get("pretrain", {}).get("metrics", {}), baseline.get("pretrain", {}).get("metrics", {})
    rows = [["base model", tpc_before, _heldout(ev, "base", lang), _udhr(ev, "base", lang), _udhr(ev, "base", base_lang), None, None]]
    rows.append(["naive: full fine-tuning, base tokenizer", tpc_before, _heldout(bev, "pretrain", lang), _udhr(bev, "pretrain", lang),
                 _udhr(bev, "pretrain", base_lang), btrain.get("train_runtime_s"), btrain.get("train_tokens_per_second")])
    rows.append(["langadapt: extended tokenizer + LoRA CPT", tpc_after, _heldout(ev, "pretrain", lang), _udhr(ev, "pretrain", lang),
                 _udhr(ev, "pretrain", base_lang), train.get("train_runtime_s"), train.get("train_tokens_per_second")])
    return rows


def write_comparison(recipe: Recipe, baseline: Recipe) -> dict:
    main = RunDir(recipe.run_path()).manifests()
    base = RunDir(baseline.run_path()).manifests()
    lang, base_lang = recipe.languages[0], recipe.base_language
    data = {
        "description": (f"Both runs train for the same wall-clock budget ({recipe.pretrain.max_minutes} minutes) on the same "
                        f"cleaned corpus and are scored on the same held-out {lang} documents, in bits per character "
                        "(lower is better; fair across tokenizers)."),
        "columns": [f"tokens/char {lang}", f"bits/char held-out {lang}", f"bits/char UDHR {lang}", f"bits/char UDHR {base_lang}",
                    "training seconds", "training tokens/s"],
        "rows": comparison_rows(main, base, lang, base_lang),
    }
    path = RunDir(recipe.run_path()).root / "baseline" / "baseline.json"
    write_json(path, data)
    return data
