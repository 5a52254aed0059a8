"""Exact resume: a run killed with SIGKILL at a random step and resumed matches the uninterrupted run step for step."""

from __future__ import annotations

import random
import signal
import subprocess
import time

from _train_helpers import cli, env, run, step_losses, write_corpus

STEPS = 6


def _args(model, corpus, out):
    # LoRA dropout stays on (0.05): resume must restore the RNG that draws the dropout masks.
    return cli("pretrain", "--model", str(model), "--data", str(corpus), "--out", str(out), "--method", "lora",
               "--max-steps", str(STEPS), "--save-every", "1", "--keep-checkpoints", "2",
               "--per-device-batch-size", "2", "--gradient-accumulation-steps", "2", "--max-seq-length", "48",
               "--learning-rate", "2e-3", "--warmup-steps", "2", "pretrain.lora.r=4", "pretrain.lora.alpha=8")


def test_sigkill_and_resume_reproduces_losses(tmp_path, tiny_model_dir):
    corpus = write_corpus(tmp_path / "corpus")
    full, killed = tmp_path / "full", tmp_path / "killed"
    victim = subprocess.Popen(_args(tiny_model_dir, corpus, killed), env=env(),
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    reference = subprocess.Popen(_args(tiny_model_dir, corpus, full), env=env(),
                                 stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    kill_after = random.randint(2, STEPS - 2)
    deadline = time.time() + 200
    ckpts = killed / "checkpoints"
    while time.time() < deadline and victim.poll() is None:
        done = [int(p.name.split("-")[1]) for p in ckpts.glob("step-*")] if ckpts.is_dir() else []
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

    _, err = reference.communicate(timeout=240)
    assert reference.returncode == 0, err[-3000:]
    run(_args(tiny_model_dir, corpus, killed))  # same command: picks up the newest checkpoint

    expected = step_losses(full / "metrics.jsonl")
    resumed = step_losses(killed / "metrics.jsonl")
    assert sorted(expected) == list(range(1, STEPS + 1))
    assert sorted(resumed) == sorted(expected)
    for step in expected:
        assert resumed[step] == expected[step], (step, resumed[step], expected[step])
    assert len(list(ckpts.glob("step-*"))) <= 2  # keep-last-K pruning
    assert (killed / "model" / "config.json").is_file() and (killed / "adapter" / "adapter_config.json").is_file()
