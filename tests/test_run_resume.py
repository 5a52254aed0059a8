"""`langadapt run` killed with SIGKILL during pretrain continues from the newest checkpoint with the
uninterrupted run's losses step for step; a changed config restarts the stage from scratch."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest
import torch

from _train_helpers import cli, env, run, step_losses, write_corpus
from langadapt.pipeline.resume import MARKER, interrupted, prepare_stage_dir
from langadapt.rundir import RunDir
from langadapt.train import checkpoint as ckpt

STEPS = 8
RECIPE = """name: t
base_model: {model}
languages: [zh-Hant]
seed: 0
corpora:
  - {{name: poems, path: corpus/shard-000.jsonl, language: zh-Hant}}
  - {{name: english, path: corpus/shard-001.jsonl, language: en, role: replay}}
clean: {{max_tokens: null, workers: 1}}
tokenizer: {{enabled: false}}
pretrain: {{method: lora, max_steps: {steps}, save_every: 1, keep_checkpoints: 2, per_device_batch_size: 2,
           gradient_accumulation_steps: 2, max_seq_length: 48, learning_rate: 2.0e-3, warmup_steps: 2,
           precision: fp32, lora: {{r: 4, alpha: 8}}}}
sft: {{enabled: false}}
eval: {{enabled: false}}
export: {{enabled: false}}
"""


@pytest.fixture(scope="module")
def recipe(tmp_path_factory, tiny_model_dir) -> Path:
    root = tmp_path_factory.mktemp("recipe")
    write_corpus(root / "corpus")
    path = root / "r.yaml"
    path.write_text(RECIPE.format(model=tiny_model_dir, steps=STEPS), encoding="utf-8")
    return path


def _run_cmd(recipe: Path, run_dir: Path, *overrides: str) -> list[str]:
    return cli("run", str(recipe), f"run_dir={run_dir}", *overrides)


def test_sigkilled_run_resumes_pretrain_exactly(tmp_path, recipe):
    run(_run_cmd(recipe, tmp_path / "ref"), timeout=400)
    expected = step_losses(tmp_path / "ref" / "t" / "pretrain" / "metrics.jsonl")
    assert sorted(expected) == list(range(1, STEPS + 1))

    stage = tmp_path / "killed" / "t" / "pretrain"
    # The save hook holds each checkpoint open for a second, so the kill lands mid-stage on a shared machine.
    victim = subprocess.Popen(_run_cmd(recipe, tmp_path / "killed"), env={**env(), ckpt.PAUSE_ENV: "1"},
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.time() + 300
    while time.time() < deadline and victim.poll() is None:
        done = [int(p.name.split("-")[1]) for p in (stage / "checkpoints").glob("step-*")]
        if done and max(done) >= 3:
            break
        time.sleep(0.1)
    assert victim.poll() is None, "the run finished before it could be killed"
    os.killpg(victim.pid, signal.SIGKILL)
    victim.wait()
    assert not (stage / "manifest.json").exists() and (stage / MARKER).is_file()
    assert (tmp_path / "killed" / "t" / "clean" / "manifest.json").is_file()

    plan = run(_run_cmd(recipe, tmp_path / "killed", "--dry-run")).stdout
    assert "interrupted: resumes from its newest checkpoint" in plan
    proc = run(_run_cmd(recipe, tmp_path / "killed"), timeout=400)
    out = proc.stdout + proc.stderr
    assert "clean skipped" in " ".join(out.split()) and "pretrain: resuming the interrupted run from step-" in out
    resumed = step_losses(stage / "metrics.jsonl")
    assert sorted(resumed) == sorted(expected)
    for step in expected:
        assert resumed[step] == expected[step], (step, resumed[step], expected[step])
    metrics = json.loads((stage / "manifest.json").read_text(encoding="utf-8"))["metrics"]
    assert metrics["resumed_from_step"] >= 3 and metrics["global_step"] == STEPS


def _stage_with_checkpoint(root: Path, fingerprint: str) -> RunDir:
    rundir = RunDir(root)
    assert prepare_stage_dir(rundir, "pretrain", fingerprint, trains=True, say=lambda _: None) == "fresh"
    model = torch.nn.Linear(3, 2)
    opt = torch.optim.AdamW(model.parameters())
    model(torch.ones(1, 3)).sum().backward()
    opt.step()
    ckpt.save(rundir.stage_dir("pretrain") / "checkpoints", 2, model, opt, {"losses": [1.0, 0.9]}, keep=2)
    return rundir


def test_changed_config_restarts_from_scratch(tmp_path):
    rundir = _stage_with_checkpoint(tmp_path / "run", "aaaa")
    said: list[str] = []
    assert interrupted(rundir, "pretrain", "aaaa") == "interrupted: resumes from its newest checkpoint"
    assert interrupted(rundir, "pretrain", "bbbb").startswith("interrupted, config or inputs changed")
    assert prepare_stage_dir(rundir, "pretrain", "bbbb", trains=True, say=said.append) == "fresh"
    assert "config or inputs changed since the interrupted run: restarting from scratch" in said[0]
    assert not (rundir.stage_dir("pretrain") / "checkpoints").exists()
    assert json.loads((rundir.stage_dir("pretrain") / MARKER).read_text())["fingerprint"] == "bbbb"


def test_unchanged_interrupted_stage_is_kept_but_finished_or_untrained_ones_are_not(tmp_path):
    rundir = _stage_with_checkpoint(tmp_path / "run", "aaaa")
    said: list[str] = []
    assert prepare_stage_dir(rundir, "pretrain", "aaaa", trains=True, say=said.append) == "resume"
    assert "resuming the interrupted run from step-00000002" in said[0]
    assert (rundir.stage_dir("pretrain") / "checkpoints" / "step-00000002").is_dir()
    # A stage that does not train is never continued from a half-written folder.
    assert prepare_stage_dir(rundir, "pretrain", "aaaa", trains=False, say=said.append) == "fresh"
    assert not (rundir.stage_dir("pretrain") / "checkpoints").exists()
    # A finished stage forced again (--from/--only) starts afresh even with checkpoints left.
    rundir = _stage_with_checkpoint(tmp_path / "run2", "cccc")
    (rundir.stage_dir("pretrain") / "manifest.json").write_text(json.dumps({"status": "complete", "fingerprint": "cccc",
                                                                             "outputs": {}}))
    assert interrupted(rundir, "pretrain", "cccc") is None
    assert prepare_stage_dir(rundir, "pretrain", "cccc", trains=True, say=said.append) == "fresh"
    assert not (rundir.stage_dir("pretrain") / "checkpoints").exists()
