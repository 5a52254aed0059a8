"""`langadapt chat` driven like a person would: through a pseudo-terminal, and one-shot with --prompt."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

pexpect = pytest.importorskip("pexpect", reason="needs pexpect to drive a pseudo-terminal")

LANGADAPT = [sys.executable, "-m", "langadapt"]


def test_interactive_session_in_a_terminal(tiny_model_dir):
    child = pexpect.spawn(LANGADAPT[0], LANGADAPT[1:] + ["chat", str(tiny_model_dir), "--max-new-tokens", "6",
                                                        "--system", "Be brief."],
                          encoding="utf-8", timeout=90, env={"HF_HUB_OFFLINE": "1", "PATH": "/usr/bin:/bin"})
    try:
        child.expect("chat mode")
        child.expect(">>> ")
        child.sendline("Hello, who are you?")
        child.expect(">>> ")
        answer = child.before.split("Hello, who are you?", 1)[-1].strip()
        assert answer  # six sampled tokens of the random model, streamed to the terminal
        child.sendline("/set temperature 0")
        child.expect("temperature = 0.0")
        child.sendline("/set top_p 7")
        child.expect("error: top_p")
        child.sendline("/show")
        child.expect("system: 'Be brief.'")
        child.expect("temperature: 0.0")
        child.sendline("/reset")
        child.expect("conversation reset")
        child.sendline("/quit")
        child.expect(pexpect.EOF)
    finally:
        child.close()
    assert child.exitstatus == 0


def test_one_shot_prompt_and_completion_mode(tiny_model_dir):
    run = subprocess.run(LANGADAPT + ["chat", str(tiny_model_dir), "--prompt", "Once upon a time",
                                      "--mode", "completion", "--max-new-tokens", "5", "--temperature", "1",
                                      "--seed", "3"], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip()
    bad = subprocess.run(LANGADAPT + ["chat", str(Path(tiny_model_dir) / "missing"), "--prompt", "x"],
                         capture_output=True, text=True, timeout=120)
    assert bad.returncode == 2 and "langadapt: error:" in bad.stderr


def test_serve_with_vllm_engine_explains_when_missing(tiny_model_dir):
    import importlib.util

    if importlib.util.find_spec("vllm") is not None:
        pytest.skip("vllm is installed here; the missing-package message cannot be shown")
    from langadapt.cli.main import main

    assert main(["serve", str(tiny_model_dir), "--engine", "vllm"]) == 2
