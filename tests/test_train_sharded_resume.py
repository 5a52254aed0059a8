"""Checkpoints through accelerate's save_state/load_state (the FSDP/DeepSpeed format): two gloo
processes killed with SIGKILL resume with the uninterrupted run's losses step for step.

accelerate shards (FSDP, DeepSpeed) only on GPUs: on a CPU-only machine an FSDP config falls back to
plain data parallel. So this runs the same checkpoint code under a 2-process CPU launch, with the
format forced by LANGADAPT_CHECKPOINT_FORMAT=accelerate; only the switch to a sharded state dict
inside `save`/`restore` needs a GPU run to be exercised.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from _train_helpers import cli, env, run, step_losses, write_corpus
from langadapt.train import checkpoint as ckpt
from langadapt.train import checkpoint_sharded as sharded

ROOT = Path(__file__).resolve().parents[1]
STEPS = 6


def _launch(model, corpus, out, port: int) -> list[str]:
    return [sys.executable, "-m", "accelerate.commands.launch", "--config_file",
            str(ROOT / "configs" / "accelerate" / "cpu-2proc.yaml"), "--main_process_port", str(port),
            "-m", "langadapt", *_pretrain(model, corpus, out)[3:]]


def _pretrain(model, corpus, out, batch: int = 2) -> list[str]:
    # LoRA dropout on: each process's RNG must come back for the masks to match.
    return cli("pretrain", "--model", str(model), "--data", str(corpus), "--out", str(out), "--method", "lora",
               "--max-steps", str(STEPS), "--save-every", "1", "--keep-checkpoints", "2", "--per-device-batch-size", str(batch),
               "--max-seq-length", "48", "--learning-rate", "2e-3", "--warmup-steps", "2", "--precision", "fp32",
               "pretrain.lora.r=4", "pretrain.lora.alpha=8")


@pytest.fixture()
def sharded_env():
    return {**env(), sharded.FORMAT_ENV: sharded.FORMAT}


def test_killed_two_process_run_resumes_exactly(tmp_path, tiny_model_dir, sharded_env):
    corpus = write_corpus(tmp_path / "corpus")
    ref = tmp_path / "ref"
    proc = subprocess.run(_launch(tiny_model_dir, corpus, ref, 29551), env=sharded_env, capture_output=True,
                          text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    expected = step_losses(ref / "metrics.jsonl")
    assert sorted(expected) == list(range(1, STEPS + 1))
    newest = ckpt.latest(ref / "checkpoints")
    assert sharded.is_sharded(newest) and (newest / "random_states_1.pkl").is_file()  # one RNG file per process

    killed = tmp_path / "killed"
    victim = subprocess.Popen(_launch(tiny_model_dir, corpus, killed, 29552), env={**sharded_env, ckpt.PAUSE_ENV: "1"},
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.time() + 400
    while time.time() < deadline and victim.poll() is None:
        done = [int(p.name.split("-")[1]) for p in (killed / "checkpoints").glob("step-*")]
        if done and max(done) >= 3:
            break
        time.sleep(0.1)
    assert victim.poll() is None, "the run finished before it could be killed"
    # torchrun starts each worker in a session of its own: kill them all, as a lost machine would.
    for proc in [*psutil.Process(victim.pid).children(recursive=True), psutil.Process(victim.pid)]:
        proc.send_signal(signal.SIGKILL)
    victim.wait()
    assert not (killed / "model").exists()

    # A launch of the other kind is refused before it loads anything.
    refused = subprocess.run(_pretrain(tiny_model_dir, corpus, killed, batch=4), env=env(), capture_output=True,
                             text=True, timeout=300)  # one process, the same global batch
    assert refused.returncode != 0 and "was written by a sharded run" in refused.stderr

    proc = subprocess.run(_launch(tiny_model_dir, corpus, killed, 29553), env=sharded_env, capture_output=True,
                          text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    resumed = step_losses(killed / "metrics.jsonl")
    assert sorted(resumed) == sorted(expected)
    for step in expected:
        assert resumed[step] == expected[step], (step, resumed[step], expected[step])
    end = [json.loads(line) for line in (killed / "metrics.jsonl").read_text().splitlines()][-1]
    assert end["event"] == "end" and end["step"] == STEPS
    assert not list((killed / "checkpoints").glob(".step-*"))  # no temporary folder left behind


def test_damaged_sharded_checkpoint_is_skipped(tmp_path, tiny_model_dir, sharded_env):
    corpus = write_corpus(tmp_path / "corpus", n_target=20, n_replay=5)
    out = tmp_path / "out"
    proc = subprocess.run(_launch(tiny_model_dir, corpus, out, 29554), env=sharded_env, capture_output=True,
                          text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    older, newest = ckpt.checkpoints(out / "checkpoints")
    shard = newest / "random_states_1.pkl"
    shard.write_bytes(shard.read_bytes()[:-8])  # one process's file truncated
    assert "random_states_1.pkl has" in ckpt.problem(newest)
    assert ckpt.latest(out / "checkpoints") == older
