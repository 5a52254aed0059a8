"""Real SmolLM2-135M: a short LoRA continual pretraining on Traditional Chinese poems lowers held-out loss,
and a short SFT on poem tasks built from held-out poems lowers validation loss on its assistant tokens."""

from __future__ import annotations

import json

import pytest

from langadapt.config.train import PretrainConfig, SftConfig


@pytest.mark.integration
def test_lora_cpt_on_poems_lowers_heldout_loss(tmp_path, smollm2_dir):
    from langadapt.data import poems
    from langadapt.train.stage import pretrain

    records = poems.load_poems("tang", limit=400)
    corpus = tmp_path / "corpus" / "poems.jsonl"
    corpus.parent.mkdir()
    with corpus.open("w", encoding="utf-8") as fh:
        for i, rec in enumerate(records):
            fh.write(json.dumps({"text": poems.poem_text(rec), "id": str(i), "source": "tang", "language": "zh-Hant",
                                 "role": "target", "meta": {}}, ensure_ascii=False) + "\n")
    cfg = PretrainConfig(method="lora", max_steps=10, per_device_batch_size=4, max_seq_length=128,
                         learning_rate=2e-3, warmup_steps=1, validation_fraction=0.05, max_validation_sequences=8,
                         lora={"r": 16, "alpha": 32, "target_modules": ["q_proj", "v_proj", "o_proj", "down_proj"]})
    result = pretrain(cfg, str(smollm2_dir), corpus.parent, tmp_path / "out")
    m = result.metrics
    assert m["data"]["validation_documents"] == 20
    assert m["eval_loss"] < m["eval_loss_start"] - 0.1, (m["eval_loss_start"], m["eval_loss"])
    assert m["train_tokens_per_second"] > 0 and m["total_flos"] > 0 and m["peak_memory_mb"] > 0
    assert (tmp_path / "out" / "loss_curve.png").stat().st_size > 1000


@pytest.mark.integration
def test_sft_on_poem_tasks_learns(tmp_path, smollm2_dir):
    from langadapt.data import poems
    from langadapt.train.stage import sft

    heldout = poems.split_poems(poems.load_poems("tang", limit=3000), 0.1)[1]
    tasks = [r for r in poems.build_tasks(heldout) if r["task_type"] == "next-line"][:60]
    assert len(tasks) >= 30
    data = tmp_path / "tasks.jsonl"
    data.write_text("".join(json.dumps(t, ensure_ascii=False) + "\n" for t in tasks), encoding="utf-8")
    cfg = SftConfig(method="lora", max_steps=8, per_device_batch_size=4, max_seq_length=160, learning_rate=2e-3,
                    validation_fraction=0.15, packing=True, datasets=[{"path": str(data)}],
                    lora={"r": 16, "alpha": 32})
    result = sft(cfg, str(smollm2_dir), tmp_path / "out")
    m = result.metrics
    assert m["eval_loss"] < m["eval_loss_start"], (m["eval_loss_start"], m["eval_loss"])
    assert (tmp_path / "out" / "model" / "config.json").is_file()
