"""The `langadapt` entry point: every command has help, --version works."""

from __future__ import annotations

import subprocess
import sys

import pytest

from langadapt import __version__
from langadapt.cli.main import build_parser

COMMANDS = ["run", "clean", "tokenizer", "pretrain", "sft", "eval", "export", "serve", "chat", "webui", "demo", "info", "data", "plan"]


def langadapt(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "langadapt", *args], capture_output=True, text=True)


def test_version():
    proc = langadapt("--version")
    assert proc.returncode == 0 and proc.stdout.strip() == f"langadapt {__version__}"


def test_all_commands_registered():
    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    assert set(COMMANDS) <= set(sub.choices)


@pytest.mark.parametrize("command", COMMANDS)
def test_help(command):
    proc = langadapt(command, "--help")
    assert proc.returncode == 0, proc.stderr
    assert f"langadapt {command}" in proc.stdout
    assert len(proc.stdout.splitlines()) >= 3


def test_overrides_may_follow_flags(tmp_path):
    recipe = tmp_path / "r.yaml"
    recipe.write_text(f"name: r\nbase_model: tiny-random-llama\nlanguages: [zh-Hant]\nrun_dir: {tmp_path / 'runs'}\n",
                      encoding="utf-8")
    # `--dry-run` between the recipe and the overrides: the overrides still apply
    proc = langadapt("run", str(recipe), "--dry-run", "name=renamed", "seed=7")
    assert proc.returncode == 0, proc.stderr
    assert "renamed" in proc.stdout
    proc = langadapt("run", str(recipe), "--dry-run", "--no-such-flag")
    assert proc.returncode == 2 and "unrecognized arguments: --no-such-flag" in proc.stderr
