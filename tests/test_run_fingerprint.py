"""`langadapt run` re-runs exactly the stages whose inputs changed, files read in place included.

A real run of the tiny model (clean, LoRA pretrain, LoRA SFT, eval on a task file); then the SFT
data file is rewritten in place with the same size and modification time, so only its content
tells: sft and eval run again, clean and pretrain are kept. An edited eval task file re-runs
eval alone.
"""

from __future__ import annotations

import json
import os

from _train_helpers import write_corpus

from langadapt.config.load import recipe_from_dict
from langadapt.pipeline.run import plan_run, run_recipe
from langadapt.rundir import RunDir
from langadapt.stages import SPECS, STAGES, stage, stage_fingerprint


def _finished(rundir: RunDir) -> dict[str, float]:
    return {s: m["finished"] for s, m in rundir.manifests().items()}


def _actions(recipe) -> dict[str, str]:
    return {p.stage: p.action for p in plan_run(recipe)}


def _rewrite_same_size(path, old: str, new: str) -> None:
    st = path.stat()
    text = path.read_text(encoding="utf-8")
    assert len(old.encode()) == len(new.encode()) and old in text
    path.write_text(text.replace(old, new), encoding="utf-8")
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert path.stat().st_size == st.st_size


def test_edited_sft_file_reruns_sft_and_what_follows(tmp_path, tiny_model_dir):
    corpus = write_corpus(tmp_path / "raw", n_target=30, n_replay=10)
    chat = tmp_path / "chat.jsonl"
    chat.write_text("".join(json.dumps({"instruction": "續寫", "input": "春花秋月何時了", "output": "往事知多少"},
                                       ensure_ascii=False) + "\n" for _ in range(8)), encoding="utf-8")
    task = tmp_path / "task.jsonl"
    task.write_text(json.dumps({"text": "春花秋月何時了，往事知多少。", "language": "zh-Hant"}, ensure_ascii=False) + "\n",
                    encoding="utf-8")
    train = {"method": "lora", "max_steps": 2, "per_device_batch_size": 2, "max_seq_length": 32, "precision": "fp32",
             "lora": {"r": 2, "alpha": 4}}
    recipe = recipe_from_dict({
        "name": "t", "base_model": str(tiny_model_dir), "languages": ["zh-Hant"], "run_dir": str(tmp_path / "runs"),
        "seed": 0,
        "corpora": [{"name": "poems", "path": str(corpus / "shard-000.jsonl"), "language": "zh-Hant"},
                    {"name": "english", "path": str(corpus / "shard-001.jsonl"), "language": "en", "role": "replay"}],
        "clean": {"max_tokens": None, "workers": 1},
        "tokenizer": {"enabled": False},
        "pretrain": train,
        "sft": {**train, "enabled": True, "max_seq_length": 128, "datasets": [{"path": str(chat)}]},
        "eval": {"tasks": [str(task)], "compare": ["base", "sft"], "max_chars": 200},
        "export": {"enabled": False},
    })
    rundir = RunDir(recipe.run_path())
    run_recipe(recipe)
    first = _finished(rundir)
    assert set(first) == {"clean", "pretrain", "sft", "eval"}
    assert _actions(recipe) == {"clean": "skip", "tokenizer": "off", "pretrain": "skip", "sft": "skip",
                                "eval": "skip", "export": "off"}
    assert rundir.manifest("sft")["config"]["input_files"] == {str(chat): stage("sft").input_files(recipe)[str(chat)]}

    _rewrite_same_size(chat, "往事知多少", "故國不堪回")
    planned = {p.stage: p for p in plan_run(recipe)}
    assert {s: p.action for s, p in planned.items()} == {"clean": "skip", "tokenizer": "off", "pretrain": "skip",
                                                         "sft": "run", "eval": "run", "export": "off"}
    assert planned["sft"].reason == "config or inputs changed" and planned["eval"].reason == "upstream re-runs"
    run_recipe(recipe)
    second = _finished(rundir)
    assert second["clean"] == first["clean"] and second["pretrain"] == first["pretrain"]
    assert second["sft"] > first["sft"] and second["eval"] > first["eval"]

    _rewrite_same_size(task, "往事知多少", "故國不堪回")
    assert _actions(recipe) == {"clean": "skip", "tokenizer": "off", "pretrain": "skip", "sft": "skip",
                                "eval": "run", "export": "off"}


def test_stage_order_and_upstream_come_from_the_specs():
    assert STAGES == ("clean", "tokenizer", "pretrain", "sft", "eval", "export")
    assert stage("sft").upstream == ("clean", "tokenizer", "pretrain")
    assert stage("export").upstream == STAGES[:-1]
    for spec in SPECS:  # a stage reads only artifacts that an earlier stage promises
        for need in spec.needs:
            producer, artifact = need.split(".", 1)
            assert STAGES.index(producer) < STAGES.index(spec.name) and artifact in stage(producer).produces, need


def test_auto_vocabulary_is_re_sized_when_the_planned_training_tokens_change():
    """`new_tokens: auto` sizes the vocabulary from pretrain's max_steps, so the tokenizer's fingerprint covers them."""
    def recipe(new_tokens, steps):
        return recipe_from_dict({"name": "fp", "base_model": "smollm2-135m-instruct", "languages": ["zh-Hant"],
                                 "tokenizer": {"new_tokens": new_tokens},
                                 "pretrain": {"max_minutes": None, "max_steps": steps}})

    auto = [stage_fingerprint(recipe("auto", steps), "tokenizer")[0] for steps in (40, 400)]
    assert auto[0] != auto[1]
    config = stage_fingerprint(recipe("auto", 40), "tokenizer")[1]
    assert config["tokenizer"]["auto_training_tokens"] == recipe("auto", 40).pretrain.planned_tokens() == 40 * 8 * 1024
    fixed = [stage_fingerprint(recipe(500, steps), "tokenizer")[0] for steps in (40, 400)]
    assert fixed[0] == fixed[1]  # a fixed size does not depend on the training budget
