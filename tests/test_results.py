"""Typed stage metrics: a renamed metric is an error naming it, in the stage that writes it and in
the report and card that read it back; manifests of earlier versions stay readable."""

from __future__ import annotations

import dataclasses

import pytest

from langadapt.config.load import recipe_from_dict
from langadapt.export import card_eval, card_training
from langadapt.pipeline.document import to_markdown
from langadapt.pipeline.report import build_sections
from langadapt.results import CleanMetrics, ManifestError, TrainMetrics
from langadapt.rundir import RunDir, StageRecord
from langadapt.stages import SPECS, stage_metrics

CLEAN = {"documents_in": 10, "documents_kept": 8, "documents_rejected": 2, "rejects_by_reason": {"too_short": 2},
         "chars_in": 1000, "chars_out": 800, "tokens_out": 400, "heldout_documents": 1, "preset": "zh-Hant"}
PRETRAIN = {"method": "lora", "global_step": 5, "train_loss": 2.5, "eval_loss": 2.75, "train_runtime_s": 12.0,
            "train_tokens_per_second": 100.0, "hardware": "cpu", "hyperparameters": {"learning_rate": 1e-4}}


def _run(tmp_path, clean: dict, pretrain: dict):
    recipe = recipe_from_dict({"name": "t", "base_model": "tiny-random-llama", "languages": ["zh-Hant"],
                               "run_dir": str(tmp_path / "runs")})
    rundir = RunDir(recipe.run_path())
    for stage, metrics in (("clean", clean), ("pretrain", pretrain)):
        rundir.stage_dir(stage).mkdir(parents=True)
        rundir.write_manifest(StageRecord(stage, "f", {stage: {}}, {}, {}, metrics, wall_time_s=3.0))
    return recipe, rundir


def test_report_and_card_read_typed_metrics(tmp_path):
    recipe, rundir = _run(tmp_path, CLEAN, PRETRAIN)
    report = to_markdown("r", build_sections(recipe, rundir))
    assert "| documents kept | 8 |" in report and "| train loss | 2.500 |" in report
    manifests = rundir.manifests()
    assert "- **Documents kept:** 8" in "\n".join(card_training.preprocessing(manifests))
    assert any("Train loss" in line for line in card_training.speeds(manifests))
    assert card_eval.training_hours(manifests) == (12.0 / 3600, "cpu")


@pytest.mark.parametrize("stage,old,new", [("clean", "documents_kept", "kept"), ("pretrain", "method", "training_method")])
def test_renamed_metric_in_a_manifest_is_an_error_naming_it(tmp_path, stage, old, new):
    clean, pretrain = dict(CLEAN), dict(PRETRAIN)
    renamed = clean if stage == "clean" else pretrain
    renamed[new] = renamed.pop(old)
    recipe, rundir = _run(tmp_path, clean, pretrain)
    with pytest.raises(ManifestError, match=f"the {stage} stage's manifest.json: no metric '{old}'"):
        build_sections(recipe, rundir)
    with pytest.raises(ManifestError, match=f"no metric '{old}'"):
        card_training.speeds(rundir.manifests()) if stage == "pretrain" else card_training.preprocessing(rundir.manifests())


def test_a_stage_that_renames_a_metric_fails_when_it_builds_its_result():
    figures = {f: None for f in TrainMetrics.declared()}
    figures["loss"] = figures.pop("train_loss")
    with pytest.raises(ManifestError, match="no metric 'train_loss'"):
        TrainMetrics.from_stage(figures)


def test_older_manifests_load_and_round_trip():
    # an early manifest: only the required figures, plus one this version does not declare
    old = {"documents_in": 3, "documents_kept": 2, "documents_rejected": 1, "legacy_figure": 7}
    m = stage_metrics({"clean": {"metrics": old}}, "clean")
    assert isinstance(m, CleanMetrics) and m.documents_kept == 2 and m.chars_out is None
    assert m.extra == {"legacy_figure": 7} and {k: v for k, v in m.to_dict().items() if v is not None} == old


def test_every_required_and_optional_field_is_declared():
    for spec in SPECS:
        declared = {f.name for f in dataclasses.fields(spec.metrics)}
        assert set(spec.metrics.REQUIRED) <= declared and set(spec.metrics.OPTIONAL) <= declared, spec.name
