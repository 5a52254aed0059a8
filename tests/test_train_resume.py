"""Exact resume: runs killed with SIGKILL at a random step, or inside a checkpoint save, match the
uninterrupted run step for step; damaged checkpoints are skipped; a changed schedule is refused."""

from __future__ import annotations

import json
import logging
import os
import random
import signal
import subprocess
import time

import pytest
import torch

from _train_helpers import cli, env, run, step_losses, write_corpus
from langadapt.errors import UserError
from langadapt.train import checkpoint as ckpt

pytestmark = pytest.mark.fault

STEPS = 6


def _args(model, corpus, out, *extra):
    # LoRA dropout stays on (0.05): resume must restore the RNG that draws the dropout masks.
    return cli("pretrain", "--model", str(model), "--data", str(corpus), "--out", str(out), "--method", "lora",
               "--max-steps", str(STEPS), "--save-every", "1", "--keep-checkpoints", "2",
               "--per-device-batch-size", "2", "--gradient-accumulation-steps", "2", "--max-seq-length", "48",
               "--learning-rate", "2e-3", "--warmup-steps", "2", *extra, "pretrain.lora.r=4", "pretrain.lora.alpha=8")


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    return write_corpus(tmp_path_factory.mktemp("corpus"))


@pytest.fixture(scope="module")
def reference(tmp_path_factory, tiny_model_dir, corpus):
    """The uninterrupted run every killed run is compared with."""
    out = tmp_path_factory.mktemp("reference") / "full"
    run(_args(tiny_model_dir, corpus, out))
    losses = step_losses(out / "metrics.jsonl")
    assert sorted(losses) == list(range(1, STEPS + 1))
    return out, losses


def _steps(ckpts):
    return [int(p.name.split("-")[1]) for p in ckpts.glob("step-*")] if ckpts.is_dir() else []


def _assert_same(resumed_dir, expected):
    resumed = step_losses(resumed_dir / "metrics.jsonl")
    assert sorted(resumed) == sorted(expected)
    for step in expected:
        assert resumed[step] == expected[step], (step, resumed[step], expected[step])


def test_sigkill_and_resume_reproduces_losses(tmp_path, tiny_model_dir, corpus, reference):
    killed = tmp_path / "killed"
    victim = subprocess.Popen(_args(tiny_model_dir, corpus, killed), env=env(),
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    kill_after = random.randint(2, STEPS - 2)
    deadline = time.time() + 200
    ckpts = killed / "checkpoints"
    while time.time() < deadline and victim.poll() is None:
        done = _steps(ckpts)
        if done and max(done) >= kill_after:
            time.sleep(random.uniform(0, 0.3))  # land anywhere inside the next step or save
            break
        time.sleep(0.05)
    assert victim.poll() is None, "the run finished before it could be killed"
    victim.send_signal(signal.SIGKILL)
    victim.wait()
    assert not (killed / "model").exists()
    partial = step_losses(killed / "metrics.jsonl")
    assert len(partial) < STEPS

    # A changed schedule is refused before anything is loaded, naming each change.
    refused = subprocess.run(_args(tiny_model_dir, corpus, killed, "--learning-rate", "1e-3", "--seed", "7"),
                             env=env(), capture_output=True, text=True, timeout=240)
    assert refused.returncode != 0
    assert "learning_rate: 0.002 -> 0.001" in refused.stderr and "seed: 42 -> 7" in refused.stderr, refused.stderr[-2000:]
    assert "--resume force" in refused.stderr

    run(_args(tiny_model_dir, corpus, killed))  # same command: picks up the newest checkpoint
    _assert_same(killed, reference[1])
    assert len(_steps(ckpts)) <= 2  # keep-last-K pruning
    assert (killed / "model" / "config.json").is_file() and (killed / "adapter" / "adapter_config.json").is_file()


def test_sigkill_inside_checkpoint_save_resumes_exactly(tmp_path, tiny_model_dir, corpus, reference):
    killed = tmp_path / "killed"
    ckpts = killed / "checkpoints"
    target = random.randint(2, STEPS - 1)
    # The fault hook holds each save open between its data files and state.json, so the kill lands inside one.
    victim = subprocess.Popen(_args(tiny_model_dir, corpus, killed), env={**env(), ckpt.PAUSE_ENV: "3"},
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 200
    partial_save = []
    while time.time() < deadline and victim.poll() is None and not partial_save:
        partial_save = [p for p in ckpts.glob(f".step-{target:08d}.tmp-*") if (p / "optimizer.pt").is_file()]
        time.sleep(0.02)
    assert partial_save, "never saw the save in progress"
    time.sleep(random.uniform(0, 0.5))
    victim.send_signal(signal.SIGKILL)
    victim.wait()
    assert not (ckpts / f"step-{target:08d}").exists()
    assert list(ckpts.glob(".step-*.tmp-*")), "the killed save left no temporary folder"

    run(_args(tiny_model_dir, corpus, killed))
    _assert_same(killed, reference[1])
    assert not list(ckpts.glob(".step-*.tmp-*")), "stale temporaries were not pruned"


def test_forced_resume_applies_new_settings(tmp_path, tiny_model_dir, corpus, reference):
    import shutil

    out = tmp_path / "forced"
    shutil.copytree(reference[0] / "checkpoints", out / "checkpoints")
    newest = max(_steps(out / "checkpoints"))
    proc = run(_args(tiny_model_dir, corpus, out, "--max-steps", str(STEPS + 2), "--resume", "force"))
    assert f"max_steps: {STEPS} -> {STEPS + 2}" in proc.stderr
    losses = step_losses(out / "metrics.jsonl")
    assert sorted(losses) == list(range(newest + 1, STEPS + 3))
    assert losses[newest + 1] == reference[1][newest + 1]  # same weights, data and lr at the first resumed step


def _save_two(root):
    torch.manual_seed(0)
    model = torch.nn.Linear(8, 8)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
    for step in (1, 2):
        model(torch.randn(2, 8)).sum().backward()
        opt.step()
        ckpt.save(root, step, model, opt, {"total_steps": 5, "plan": {}}, keep=3)
    return model, opt


@pytest.mark.parametrize("damage", ["truncate", "flip", "delete"])
def test_damaged_newest_checkpoint_falls_back_to_previous(tmp_path, caplog, damage):
    root = tmp_path / "checkpoints"
    model, opt = _save_two(root)
    newest = root / "step-00000002"
    weights = newest / "trainable.safetensors"
    if damage == "truncate":
        weights.write_bytes(weights.read_bytes()[:-100])
    elif damage == "flip":
        blob = bytearray((newest / "optimizer.pt").read_bytes())
        blob[-50] ^= 0xFF
        (newest / "optimizer.pt").write_bytes(bytes(blob))
    else:
        weights.unlink()
    with caplog.at_level(logging.WARNING, logger="langadapt.train.checkpoint"):
        found = ckpt.latest(root)
    assert found == root / "step-00000001"
    assert "step-00000002 is damaged" in caplog.text and "falling back to step-00000001" in caplog.text
    state = ckpt.restore(found, model, opt)
    assert state["step"] == 1


def test_stale_temporaries_pruned_and_fsync_kept(tmp_path):
    root = tmp_path / "checkpoints"
    stale = root / ".step-00000007.tmp-abc123"
    stale.mkdir(parents=True)
    (stale / "trainable.safetensors").write_bytes(b"half")
    other = root / "notes"
    other.mkdir()
    _save_two(root)
    assert not stale.exists() and other.exists()
    state = json.loads((root / "step-00000002" / "state.json").read_text())
    assert set(state["files"]) == set(ckpt.DATA_FILES)
    assert state["files"]["optimizer.pt"]["bytes"] == os.path.getsize(root / "step-00000002" / "optimizer.pt")


def test_check_resume_names_changes(tmp_path):
    from langadapt.config.train import PretrainConfig

    cfg = PretrainConfig(learning_rate=1e-3, max_steps=10, warmup_steps=2, seed=1)
    root = tmp_path / "checkpoints"
    model = torch.nn.Linear(2, 2)
    ckpt.save(root, 1, model, torch.optim.AdamW(model.parameters()),
              {"settings": ckpt.run_settings(cfg, "base-a", 1)}, keep=2)
    same = ckpt.run_settings(cfg, "base-a", 1)
    assert ckpt.check_resume(root / "step-00000001", same, force=False) == []
    changed = ckpt.run_settings(cfg.model_copy(update={"warmup_steps": 5, "per_device_batch_size": 4}), "base-b", 2)
    with pytest.raises(UserError) as err:
        ckpt.check_resume(root / "step-00000001", changed, force=False)
    text = str(err.value)
    assert "warmup_steps: 2 -> 5" in text and "base_model: 'base-a' -> 'base-b'" in text
    assert "global_batch" not in text  # 8 per device x 1 process -> 4 x 2: the same global batch
    assert len(ckpt.check_resume(root / "step-00000001", changed, force=True)) == 2


@pytest.mark.parametrize("flags, value", [(["--resume", "force"], "force"), (["--resume"], True),
                                          (["--no-resume"], False), ([], True)])
def test_resume_flag_reaches_the_config(flags, value):
    from langadapt.cli.common import collect_config_flags
    from langadapt.cli.main import build_parser
    from langadapt.config.load import recipe_from_dict

    for stage in ("pretrain", "sft"):
        args = build_parser().parse_args([stage, "--model", "m", *flags])
        recipe = recipe_from_dict({"name": "t", "base_model": "m", "languages": ["und"]}, "<test>",
                                  collect_config_flags(args))
        assert getattr(recipe, stage).resume == value


def test_an_override_after_a_bare_resume_stays_an_override():
    """`pretrain --resume pretrain.max_steps=3`: the override is not read as --resume's value."""
    from langadapt.cli.main import build_parser, parse_args

    args = parse_args(build_parser(), ["pretrain", "--model", "m", "--resume", "pretrain.max_steps=3", "pretrain.seed=5"])
    assert args.cfg__pretrain__resume == "true"
    assert sorted(args.overrides) == ["pretrain.max_steps=3", "pretrain.seed=5"]
    assert parse_args(build_parser(), ["sft", "--model", "m", "--resume", "force", "sft.seed=5"]).cfg__sft__resume == "force"
    with pytest.raises(SystemExit):
        parse_args(build_parser(), ["pretrain", "--model", "m", "--resume", "maybe"])
