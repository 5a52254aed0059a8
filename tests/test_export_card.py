"""The model card comes from the run's manifests: its numbers must be those of the manifests.

Run: .venv/bin/pytest tests/test_export_card.py -q
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
import yaml

from test_export import build_lora_run

MANIFEST_METRICS = {
    "clean": {"documents_in": 1200, "documents_kept": 1003, "documents_rejected": 197,
              "rejects_by_reason": {"near_duplicate": 120, "script_share": 52, "too_short": 25},
              "chars_in": 987654, "chars_out": 812345, "tokens_out": 456789, "heldout_documents": 21,
              "preset": "zh-Hant", "steps": ["nfkc-safe", "opencc", "pangu"]},
    "tokenizer": {"method": "bpe", "base_vocab_size": 49152, "vocab_size": 49163, "added_tokens": 11, "init": "mean",
                  "tokens_per_char_before": {"zh-Hant": 1.3125}, "tokens_per_char_after": {"zh-Hant": 0.8125}},
    "pretrain": {"method": "lora", "hyperparameters": {"total_train_batch_size": 32},
                 "train_runtime_s": 5025.5, "train_samples_per_second": 6.376, "train_steps_per_second": 0.004,
                 "train_tokens_per_second": 1634.2, "total_flos": 18625327792128000, "train_loss": 1.7512,
                 "eval_loss": 1.8125, "global_step": 2770, "peak_memory_mb": 20480.5,
                 "hardware": "1 x NVIDIA A100-SXM4-40GB", "num_parameters": 134515008, "trainable_parameters": 4884480},
    "eval": {"bpc": {"base": {"zh-Hant": 4.25, "en": 1.0625}, "pretrain": {"zh-Hant": 2.375, "en": 1.125}},
             "tasks": {"poem-next-line": {"base": {"accuracy": 0.25}, "pretrain": {"accuracy": 0.5}}}},
}


def write_manifest(root: Path, stage: str, config: dict, outputs: dict, metrics: dict, wall: float) -> None:
    folder = root / stage
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "manifest.json").write_text(json.dumps({
        "stage": stage, "fingerprint": f"fp-{stage}", "config": config, "inputs": {}, "outputs": outputs,
        "metrics": metrics, "wall_time_s": wall, "started": 0.0, "finished": wall,
        "versions": {"torch": "2.13.0", "transformers": "5.23.0"}, "status": "complete"}))


@pytest.fixture(scope="module")
def run_dir(tiny_model_dir, tmp_path_factory):
    """A run folder as the orchestrator leaves it: manifests, heldout JSONL, loss curve, adapter."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from langadapt.config import recipe_from_dict

    work = tmp_path_factory.mktemp("run")
    lora = build_lora_run(tiny_model_dir, work / "train", steps=3)
    recipe = recipe_from_dict({
        "name": "demo-zh-tw", "description": "SmolLM2 taught Traditional Chinese poetry.",
        "base_model": str(tiny_model_dir), "languages": ["zh-Hant"], "run_dir": str(work / "runs"),
        "corpora": [{"name": "poems", "fetch": "chinese-poetry", "language": "zh-Hant"}],
        "pretrain": {"learning_rate": 3e-4, "lora": {"r": 8, "alpha": 16}},
        "generation": {"temperature": 0.0, "max_new_tokens": 64},
        "export": {"dtype": "fp32", "license": "apache-2.0"},
    })
    root = work / "runs" / "demo-zh-tw"
    heldout = root / "clean" / "heldout.jsonl"
    heldout.parent.mkdir(parents=True)
    heldout.write_text("\n".join(json.dumps({"text": t}, ensure_ascii=False) for t in
                                 ["白日依山盡，黃河入海流。", "欲窮千里目，更上一層樓。"]) + "\n")
    curve = root / "pretrain" / "loss.png"
    curve.parent.mkdir(parents=True)
    fig, ax = plt.subplots()
    ax.plot(lora["losses"])
    fig.savefig(curve)
    plt.close(fig)
    data = recipe.model_dump(mode="json")
    outputs = {"clean": {"heldout": str(heldout)}, "tokenizer": {"model": str(lora["ext"])},
               "pretrain": {"model": str(lora["ext"]), "adapter": str(lora["adapter"]), "loss_curve": str(curve)},
               "eval": {}}
    for i, (stage, metrics) in enumerate(MANIFEST_METRICS.items()):
        write_manifest(root, stage, {stage: data[stage], "base_model": data["base_model"]}, outputs[stage], metrics, 10.0 + i)
    return recipe, root


def run_stage(recipe, root: Path):
    from langadapt.export.stage import run
    from langadapt.rundir import RunDir
    from langadapt.stages import StageContext

    run_dir = RunDir(root)
    artifacts = {f"{s}.{k}": v for s, m in run_dir.manifests().items() for k, v in m["outputs"].items()}
    out_dir = root / "export"
    out_dir.mkdir(exist_ok=True)
    return run(StageContext(recipe=recipe, out_dir=out_dir, run_dir=run_dir, artifacts=artifacts))


def split_card(text: str) -> tuple[dict, str]:
    assert text.startswith("---\n")
    end = text.index("\n---\n", 4)
    return yaml.safe_load(text[4:end]), text[end + 5:]


def test_card_numbers_match_manifests(run_dir):
    recipe, root = run_dir
    result = run_stage(recipe, root)
    assert set(result.outputs) == {"export", "card"}
    card = Path(result.outputs["card"]).read_text(encoding="utf-8")
    meta, body = split_card(card)

    assert meta["license"] == "apache-2.0" and meta["pipeline_tag"] == "text-generation"
    # A local base is no Hub id and chinese-poetry no Hub dataset: both stay out of the front matter
    # (the Hub would index them wrongly) and are named in the text, the data with package and version.
    assert "base_model" not in meta and "base_model_relation" not in meta and "datasets" not in meta
    assert meta["language"] == ["zh", "en"] and "zh-hant" in meta["tags"]
    assert "**Language(s):** zh-Hant (Chinese, Traditional script)" in body
    assert f"**Adapted from model:** {recipe.base_model}" in body
    results = meta["model-index"][0]["results"]
    bpc = {r["dataset"]["config"]: r["metrics"][0]["value"] for r in results if r["metrics"][0]["type"] == "bpc"}
    assert bpc == MANIFEST_METRICS["eval"]["bpc"]["pretrain"]
    task = [r for r in results if r["dataset"]["name"] == "poem-next-line"][0]
    assert task["metrics"][0]["value"] == 0.5

    pre = MANIFEST_METRICS["pretrain"]
    for expected in ("**Total training FLOPs:** 18,625,327,792,128,000", "**Train samples per second:** 6.376",
                     "**Train steps per second:** 0.004", "**Train loss:** 1.751", "**Optimizer steps:** 2,770",
                     "**Train runtime:** 1h 23m 46s (5,025.50 s)", f"**Hardware:** {pre['hardware']}",
                     "**Trainable parameters:** 4,884,480", "**total_train_batch_size:** 32",
                     "**Documents in:** 1,200", "**Documents kept:** 1,003", "**Documents dropped:** 197",
                     "| near_duplicate | 120 |", "| script_share | 52 |", "| too_short | 25 |",
                     "**Pieces added:** 11", "| zh-Hant | 1.312 | 0.8125 | 1.62x fewer tokens |",
                     "| zh-Hant | 4.25 | 2.375 |", "| en | 1.062 | 1.125 |", "| accuracy | 0.25 | 0.5 |",
                     "| `learning_rate` | 0.0003 | Peak learning rate. |", "| `lora.r` | 8 | LoRA rank. |",
                     "vllm serve", "langadapt chat", "AutoModelForCausalLM.from_pretrained",
                     "transformers 5.23.0", "went from 1.062 (base) to 1.125 (5.9% worse)"):
        assert expected in body, expected
    # Energy: 5025.5 s on one A100 (400 W) at the recipe's default 0.432 kgCO2eq/kWh.
    kwh = 5025.5 / 3600 * 400 / 1000
    assert f"{kwh:.4g} kWh" in body and f"{kwh * 0.432:.4g} kgCO2eq" in body
    assert "More Information Needed" not in card and "WIP" not in card
    assert "## Training data" in body and "`langadapt data fetch chinese-poetry`" in body
    image = root / "export" / "model" / "images" / "pretrain-loss.png"
    assert image.is_file() and "](images/pretrain-loss.png)" in body
    assert result.metrics.extra["verify_export_relative_diff"] <= 1e-4
    assert result.metrics.version == dt.date.today().strftime("%Y.%m.%d")


def test_changelog_grows_across_exports_and_version_overrides(run_dir):
    recipe, root = run_dir
    run_stage(recipe, root)
    recipe.export.version = "2.0-rc1"
    recipe.export.notes = "Second round."
    recipe.export.verify = False
    try:
        result = run_stage(recipe, root)
    finally:
        recipe.export.version, recipe.export.notes, recipe.export.verify = None, None, True
    log = json.loads((Path(result.outputs["export"]) / "changelog.json").read_text())
    assert [e["version"] for e in log] == ["2.0-rc1", dt.date.today().strftime("%Y.%m.%d")]
    card = Path(result.outputs["card"]).read_text(encoding="utf-8")
    assert f"| {dt.date.today().isoformat()} | v2.0-rc1 | Second round. |" in card
    assert "## Export check" not in card  # verification off: the section is omitted, not left empty


def test_sections_without_data_are_omitted(tmp_path):
    from langadapt.export.card import CardInputs, render

    text = render(CardInputs(name="bare", base_model="some/model", manifests={}, folder=tmp_path))
    meta, body = split_card(text)
    assert "model-index" not in meta and "license" not in meta
    for section in ("## Training data", "### Preprocessing", "### Tokenizer", "## Evaluation", "## Environmental impact",
                    "### Training hyperparameters", "## Model change log", "## Framework versions"):
        assert section not in body


def test_energy_matches_seed_card_figures():
    from langadapt.export.energy import device_count, estimate

    # WangChanGLM: 500 hours of Tesla V100-SXM2-32GB (300 W) at 0.432 kgCO2eq/kWh = 64.8 kg.
    found = estimate(500, "Tesla V100-SXM2-32GB", 0.432)
    assert found["energy_kwh"] == pytest.approx(150.0) and found["co2_kg"] == pytest.approx(64.8)
    assert device_count("8 x NVIDIA A100 40GB") == 8 and device_count("NVIDIA H100 x2") == 2
    assert estimate(3.0, "cpu (2 cores)", 0.432) is None


def test_changelog_same_version_replaces_entry():
    from langadapt.export import changelog

    day = dt.date(2024, 11, 15)
    entries = changelog.record([], None, "first", today=day)
    entries = changelog.record(entries, None, "again", today=day)
    entries = changelog.record(entries, "v2", "next", today=dt.date(2024, 11, 16))
    assert [(e["version"], e["changes"]) for e in entries] == [("v2", "next"), ("2024.11.15", "again")]
