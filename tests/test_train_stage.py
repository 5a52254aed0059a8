"""The stage contract and the CLI on the tiny model: pretrain from a clean corpus, then SFT on chat data."""

from __future__ import annotations

import json
from pathlib import Path

from _train_helpers import write_corpus

from langadapt.cli.main import main
from langadapt.config.load import recipe_from_dict
from langadapt.rundir import RunDir
from langadapt.stages import StageContext, stage


def test_pretrain_then_sft_stage_functions(tmp_path, tiny_model_dir):
    corpus = write_corpus(tmp_path / "clean" / "corpus")
    chat = tmp_path / "chat.jsonl"
    rows = [{"instruction": "續寫", "input": "春花秋月何時了", "output": "往事知多少"},
            {"conversations": [{"from": "human", "value": "小樓昨夜又東風"}, {"from": "gpt", "value": "故國不堪回首月明中"}]},
            {"messages": [{"role": "user", "content": "雕欄玉砌"}, {"role": "assistant", "content": "應猶在"},
                          {"role": "user", "content": "再來"}, {"role": "assistant", "content": "只是朱顏改"}]}] * 4
    chat.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    recipe = recipe_from_dict({
        "name": "t", "base_model": str(tiny_model_dir), "languages": ["zh-Hant"], "run_dir": str(tmp_path / "runs"),
        "corpora": [{"name": "poems", "path": "x"}, {"name": "english", "path": "y", "role": "replay", "weight": 0.5}],
        "pretrain": {"method": "full", "max_steps": 2, "per_device_batch_size": 2, "max_seq_length": 32, "replay_share": 0.1},
        "sft": {"enabled": True, "method": "lora", "max_steps": 2, "per_device_batch_size": 2, "max_seq_length": 64,
                "packing": True, "datasets": [{"path": str(chat)}], "lora": {"r": 4, "alpha": 8}},
    })
    artifacts = {"clean.corpus": str(corpus)}
    ctx = StageContext(recipe, tmp_path / "runs" / "t" / "pretrain", RunDir(tmp_path / "runs" / "t"), artifacts)
    pt = stage("pretrain").run(ctx)
    assert set(pt.outputs) == {"model", "metrics", "loss_curve"}
    m = pt.metrics
    assert m.global_step == 2 and m.hyperparameters["method"] == "full"
    for key in ("train_runtime_s", "train_samples_per_second", "train_steps_per_second", "train_tokens_per_second",
                "total_flos", "train_loss", "eval_loss", "peak_memory_mb", "hardware", "num_parameters", "trainable_parameters"):
        assert getattr(m, key) is not None, key
    assert m.data["mix"]["english"]["replay"] and 0.02 < m.data["mix"]["english"]["share"] < 0.2  # whole documents: coarse

    artifacts["pretrain.model"] = pt.outputs["model"]
    ctx = StageContext(recipe, tmp_path / "runs" / "t" / "sft", RunDir(tmp_path / "runs" / "t"), artifacts)
    assert ctx.latest_model(before="sft") == pt.outputs["model"]
    res = stage("sft").run(ctx)
    assert {"model", "adapter", "metrics", "loss_curve"} <= set(res.outputs)
    for model in (pt.outputs["model"], res.outputs["model"]):  # trained without the KV cache, saved to generate with it
        assert json.loads((Path(model) / "config.json").read_text(encoding="utf-8"))["use_cache"] is True
    assert res.metrics.data["train_examples"] + res.metrics.data["validation_examples"] == 12


def test_cli_pretrain_and_errors(tmp_path, tiny_model_dir, capsys):
    corpus = write_corpus(tmp_path / "c", n_target=10, n_replay=2)
    out = tmp_path / "out"
    code = main(["pretrain", "--model", str(tiny_model_dir), "--data", str(corpus), "--out", str(out), "--method", "lora",
                 "--max-steps", "1", "--max-seq-length", "32", "--per-device-batch-size", "2", "pretrain.lora.r=2"])
    assert code == 0 and "pretrain: 1 steps" in capsys.readouterr().out
    assert json.loads((out / "result.json").read_text())["metrics"]["method"] == "lora"
    assert main(["pretrain", "--model", str(tiny_model_dir), "--data", str(tmp_path / "none"), "--out", str(out)]) == 2
    assert "no such file or folder" in capsys.readouterr().err
    assert main(["pretrain", "--model", str(tiny_model_dir), "--data", str(corpus), "--method", "qlora"]) == 2
    assert "CUDA" in capsys.readouterr().err


def test_cli_pretrain_reads_plain_text(tmp_path, tiny_model_dir, capsys):
    """`--data corpus.txt` trains (it used to stop with "not valid JSON"); blank-line blocks are documents."""
    corpus = tmp_path / "corpus.txt"
    corpus.write_text("\n\n".join("床前明月光，疑是地上霜。\n舉頭望明月，低頭思故鄉。" for _ in range(12)) + "\n", encoding="utf-8")
    out = tmp_path / "out"
    code = main(["pretrain", "--model", str(tiny_model_dir), "--data", str(corpus), "--out", str(out), "--method", "lora",
                 "--max-steps", "1", "--max-seq-length", "32", "--per-device-batch-size", "2", "pretrain.lora.r=2"])
    assert code == 0 and "pretrain: 1 steps" in capsys.readouterr().out
    data = json.loads((out / "result.json").read_text())["metrics"]["data"]
    assert data["documents"] == 12 and set(data["mix"]) == {"corpus"}
