"""`accelerate launch --num_processes 2` (CPU, gloo) over `langadapt run`: the main process alone runs
clean, tokenizer, eval and export, both processes train, and pretrain matches the single-process run."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from _train_helpers import cli, run, step_losses, write_corpus

ROOT = Path(__file__).resolve().parents[1]
RECIPE = """name: a
base_model: {model}
languages: [zh-Hant]
seed: 0
corpora:
  - {{name: poems, path: corpus/shard-000.jsonl, language: zh-Hant}}
  - {{name: english, path: corpus/shard-001.jsonl, language: en, role: replay}}
clean: {{max_tokens: null, workers: 1}}
tokenizer: {{method: bpe, new_tokens: 20, report_chars: 200}}
pretrain: {{method: lora, max_steps: 4, per_device_batch_size: 2, gradient_accumulation_steps: 1, max_seq_length: 48,
           learning_rate: 2.0e-3, precision: fp32, lora: {{r: 4, alpha: 8, dropout: 0}}}}
sft: {{enabled: false}}
eval: {{tasks: [heldout-bpc], compare: [base, pretrain], max_chars: 300, max_examples: 2, window: 48, stride: 24,
       batch_size: 2}}
export: {{dtype: fp32}}
"""
NON_TRAINING = ("clean", "tokenizer", "eval", "export")


def test_two_process_run_matches_single_process(tmp_path, tiny_model_dir):
    write_corpus(tmp_path / "corpus")
    recipe = tmp_path / "a.yaml"
    recipe.write_text(RECIPE.format(model=tiny_model_dir), encoding="utf-8")
    # Same global batch (4): 1 process x 4 sequences and 2 processes x 2.
    run(cli("run", str(recipe), f"run_dir={tmp_path / 'one'}", "pretrain.per_device_batch_size=4"), timeout=600)
    launch = [sys.executable, "-m", "accelerate.commands.launch", "--config_file",
              str(ROOT / "configs" / "accelerate" / "cpu-2proc.yaml"), "--num_processes", "2",
              "--main_process_port", "29547", "-m", "langadapt", "run", str(recipe), f"run_dir={tmp_path / 'two'}"]
    proc = run(launch, timeout=900)
    log = " ".join((proc.stdout + proc.stderr).split())
    two = tmp_path / "two" / "a"

    # Each stage ran once: one plan, one completion line per stage, one report, no second process's traces.
    assert log.count("recipe: a") == 1 and log.count("report:") == 1
    for stage in (*NON_TRAINING, "pretrain"):
        assert log.count(f"✓ {stage} done") == 1, stage
        manifest = json.loads((two / stage / "manifest.json").read_text(encoding="utf-8"))
        assert manifest["status"] == "complete" and all(Path(p).exists() for p in manifest["outputs"].values())
        assert not list((two / stage).glob("error*.txt"))
    assert (two / "export" / "model" / "config.json").is_file()

    start = json.loads((two / "pretrain" / "metrics.jsonl").read_text(encoding="utf-8").splitlines()[0])
    assert start["world_size"] == 2 and start["plan"]["global_batch"] == 4
    one = step_losses(tmp_path / "one" / "a" / "pretrain" / "metrics.jsonl")
    dist = step_losses(two / "pretrain" / "metrics.jsonl")
    assert sorted(one) == sorted(dist) == [1, 2, 3, 4]
    for step in one:
        assert abs(one[step] - dist[step]) < 1e-5 * abs(one[step]), (step, one[step], dist[step])
