"""The seed recipes in recipes/: each passes `langadapt run --dry-run` and `langadapt plan` offline, the
card's own hardware fits where the card says it did, and every stage they use runs for real at tiny
scale (the same recipe, model swapped for tiny-random-llama and data for small local/fetched sets).

    .venv/bin/pytest tests/test_recipes.py -x -q
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from langadapt.cli.main import main
from langadapt.config import load_recipe
from langadapt.train.plan import plan_recipe

RECIPES = Path(__file__).resolve().parent.parent / "recipes"
SEEDS = ["llama-3.2-taiwan-3b-cpt", "tibetan-llama2-7b", "tibetan-alpaca-7b", "luojiu-llama2-zh-tw",
         "llama-3.2-taiwan-legal-3b-instruct", "wangchanglm-7.5b"]


@pytest.fixture(autouse=True)
def _offline(monkeypatch, tmp_path):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    monkeypatch.chdir(tmp_path)  # run folders of dry runs land here, not in the repository


@pytest.mark.parametrize("name", SEEDS)
def test_seed_recipe_dry_run_and_plan(name, capsys):
    path = str(RECIPES / f"{name}.yaml")
    assert main(["run", path, "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "base model:" in out and "stages:" in out
    assert main(["plan", path]) == 0  # GPU from the recipe's hardware section
    out = capsys.readouterr().out
    assert " GB of " in out and "assumptions:" in out
    recipe = load_recipe(path)
    report = plan_recipe(recipe, recipe.hardware.gpu, recipe.hardware.num_gpus, strategy=recipe.hardware.strategy)
    for stage, est in report["stages"].items():
        assert est["fits"], f"{name} {stage}: {est['memory_gb']}"  # every seed card ran on its hardware


def test_cards_hardware_figures():
    # seed 002: ~18 GB on one A10 (QLoRA r32, batch 8)
    luojiu = load_recipe(RECIPES / "luojiu-llama2-zh-tw.yaml")
    est = plan_recipe(luojiu, "a10-24gb")["stages"]["pretrain"]
    assert est["fits"] and 16 <= est["memory_gb"]["total"] <= 20 and est["vocab"] == 61388
    # seed 000: full CPT fits 4x A100-80GB only because FSDP shards it; the card's global batch is kept
    cpt = load_recipe(RECIPES / "llama-3.2-taiwan-3b-cpt.yaml")
    fsdp = plan_recipe(cpt, "a100-80gb", 4, strategy="fsdp")["stages"]["pretrain"]
    ddp = plan_recipe(cpt, "a100-80gb", 4, strategy="ddp")["stages"]["pretrain"]
    assert fsdp["fits"] and not ddp["fits"] and fsdp["global_batch"] == 1600
    assert fsdp["memory_gb"]["gradients_and_optimizer"] * 4 == pytest.approx(ddp["memory_gb"]["gradients_and_optimizer"], rel=0.01)
    zero2 = plan_recipe(cpt, "a100-80gb", 4, strategy="zero2")["stages"]["pretrain"]
    assert zero2["memory_gb"]["weights"] == ddp["memory_gb"]["weights"] > fsdp["memory_gb"]["weights"]
    # seed 003: 8x A100-40GB; the base is a fine-tune of Llama-3.2-3B (alias) and plan knows it
    legal = load_recipe(RECIPES / "llama-3.2-taiwan-legal-3b-instruct.yaml")
    est = plan_recipe(legal, "a100-40gb", 8, strategy="fsdp")
    assert est["architecture"] == "Llama-3.2-3B" and est["stages"]["sft"]["fits"]
    # seed 001 SFT: base produced by another recipe; plan uses Llama-2-7B with the extended vocabulary
    alpaca = load_recipe(RECIPES / "tibetan-alpaca-7b.yaml")
    assert plan_recipe(alpaca, "a6000-48gb", 2)["stages"]["sft"]["vocab"] == 54949


def test_dry_run_reports_inputs(capsys):
    assert main(["run", str(RECIPES / "tibetan-alpaca-7b.yaml"), "--dry-run"]) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert "not there yet: produced by `langadapt run" in out and "tibetan-llama2-7b.yaml`" in out
    assert main(["run", str(RECIPES / "wangchanglm-7.5b.yaml"), "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "databricks/databricks-dolly-15k: Hub (needs network)" in out
    # a local file that is not there fails the dry run (exit 2)
    assert main(["run", str(RECIPES / "wangchanglm-7.5b.yaml"), "sft.datasets=[{path: no/such.jsonl}]", "--dry-run"]) == 2
    assert "no/such.jsonl" in capsys.readouterr().err
    assert main(["run", str(RECIPES / "llama-3.2-taiwan-legal-3b-instruct.yaml"), "eval.tasks=[no-such-task.jsonl]", "--dry-run"]) == 2


def test_hub_sft_dataset_offline_is_a_clear_error():
    from langadapt.config.train import SftDataSpec
    from langadapt.errors import UserError
    from langadapt.data.sft_records import load_hf_conversations

    with pytest.raises(UserError, match="needs network"):
        load_hf_conversations(SftDataSpec(hf_dataset="databricks/databricks-dolly-15k"))


# ---- tiny real runs: one per distinct stage combination ----

TINY_TRAIN = ["max_steps=2", "per_device_batch_size=2", "gradient_accumulation_steps=1", "max_seq_length=64",
              "precision=fp32", "save_every=0", "validation_fraction=0.1"]
TINY_EVAL = ["eval.max_chars=400", "eval.max_examples=2", "eval.window=64", "eval.stride=32", "eval.batch_size=2",
             "eval.generation.max_new_tokens=4", "export.dtype=fp32"]


def _tiny(name: str, tmp_path: Path, extra: list[str]) -> object:
    stages = [s for s in ("pretrain", "sft") if load_recipe(RECIPES / f"{name}.yaml").stage_enabled(s)]
    overrides = [f"run_dir={tmp_path / 'runs'}", "base_model=tiny-random-llama", "clean.max_tokens=null",
                 *[f"{s}.{o}" for s in stages for o in TINY_TRAIN], *TINY_EVAL, *extra]
    return load_recipe(RECIPES / f"{name}.yaml", overrides)


def _udhr_pairs(tmp_path: Path, target: str) -> Path:
    """A small dataset folder of real UDHR articles as messages (English -> target), read by `datasets`."""
    from langadapt.data.fetch import fetch

    root = fetch("udhr")
    en = {r["article"]: r["text"] for r in map(json.loads, (root / "en.jsonl").read_text(encoding="utf-8").splitlines())}
    rows = []
    for line in (root / f"{target}.jsonl").read_text(encoding="utf-8").splitlines()[:12]:
        r = json.loads(line)
        if r["article"] in en:
            rows.append({"messages": [{"role": "user", "content": "Translate: " + en[r["article"]][:120]},
                                      {"role": "assistant", "content": r["text"][:120]}],
                         "context": en[r["article"]][:80], "response": r["text"][:80], "instruction": "Translate",
                         "text": f"<human>: {en[r['article']][:60]} <bot>: {r['text'][:60]}"})
    folder = tmp_path / f"sft-{target}"
    folder.mkdir()
    (folder / "train.jsonl").write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows), encoding="utf-8")
    return folder


def _run(recipe) -> dict:
    from langadapt.pipeline.run import run_recipe

    artifacts = run_recipe(recipe)
    assert (Path(recipe.run_dir) / recipe.name / "export" / "manifest.json").exists() or "export.export" in artifacts
    return artifacts


def test_tiny_seed000_clean_full_cpt_eval_export(tmp_path):
    recipe = _tiny("llama-3.2-taiwan-3b-cpt", tmp_path, [
        "corpora=[{name: udhr-zh, fetch: udhr, path: zh-Hant.jsonl, language: zh-Hant}, "
        "{name: udhr-en, fetch: udhr, path: en.jsonl, language: en, role: replay}]",
        "clean.workers=1", "pretrain.fused_optimizer=false"])
    assert recipe.pretrain.method == "full" and recipe.pretrain.gradient_checkpointing
    artifacts = _run(recipe)
    assert {"clean.corpus", "pretrain.model", "eval.results"} <= set(artifacts)


def test_tiny_seed002_tokenizer_lora_s2attn_cpt(tmp_path):
    # qlora needs CUDA: lora here, with the recipe's S2-Attn, norms trained and new embeddings
    recipe = _tiny("luojiu-llama2-zh-tw", tmp_path, [
        "corpora=[{name: udhr-zh, fetch: udhr, path: zh-Hant.jsonl, language: zh-Hant}, "
        "{name: prose, fetch: zh-tw-prose, language: zh-Hant, max_documents: 40}]",
        "tokenizer.method=bpe", "tokenizer.new_tokens=40", "tokenizer.report_chars=200",
        "pretrain.method=lora", "pretrain.max_seq_length=64"])
    assert recipe.pretrain.long_context.s2_attn
    artifacts = _run(recipe)
    ext = json.loads((Path(artifacts["tokenizer.model"]) / "langadapt_extension.json").read_text())
    assert ext["new_token_ids"][1] > ext["new_token_ids"][0]
    assert "pretrain.adapter" in artifacts


def test_tiny_seed001_tokenizer_lora_cpt_then_chained_sft(tmp_path):
    cpt = _tiny("tibetan-llama2-7b", tmp_path, ["tokenizer.method=bpe", "tokenizer.new_tokens=40",
                                               "tokenizer.report_chars=200", "eval.languages=[bo, en]"])
    artifacts = _run(cpt)
    model = artifacts.get("export.export") or artifacts["pretrain.model"]
    # the Alpaca recipe continues from the first recipe's result, as in the card
    base = Path(model) / "model" if (Path(model) / "model" / "config.json").exists() else Path(model)
    folder = _udhr_pairs(tmp_path, "bo")
    sft = _tiny("tibetan-alpaca-7b", tmp_path, [f"base_model={base}", "sft.max_seq_length=128",
                                                f"sft.datasets=[{{hf_dataset: {folder}, format: messages}}]"])
    sft_artifacts = _run(sft)
    assert "sft.adapter" in sft_artifacts


def test_tiny_seed003_and_004_sft_from_dataset_folders(tmp_path):
    folder = _udhr_pairs(tmp_path, "zh-Hant")
    legal = _tiny("llama-3.2-taiwan-legal-3b-instruct", tmp_path, [
        f"sft.datasets=[{{hf_dataset: {folder}, format: messages}}]", "sft.fused_optimizer=false",
        "sft.max_seq_length=128"])
    assert legal.sft.method == "full"
    assert "sft.model" in _run(legal)
    th = _udhr_pairs(tmp_path, "th")
    wangchan = _tiny("wangchanglm-7.5b", tmp_path, [
        f"sft.datasets=[{{hf_dataset: {th}, format: alpaca, fields: {{input: context, output: response}}}}, "
        f"{{hf_dataset: {th}, turn_markers: {{user: '<human>:', assistant: '<bot>:'}}}}]",
        "sft.precision=fp32", "sft.max_seq_length=128", "sft.lora.target_modules=[q_proj, v_proj]",
        "eval.judge.base_url=null"])
    assert wangchan.generation.top_k == 50 and wangchan.generation.no_repeat_ngram_size == 2
    assert "sft.adapter" in _run(wangchan)
