"""SFT on a base without a chat template trains with the chatml fallback and saves that template with
the trained tokenizer, so the export answers chat requests (apply_chat_template works)."""

from __future__ import annotations

import json
import shutil

from _train_helpers import cli, run


def test_template_used_for_sft_is_saved_and_exported(tiny_model_dir, tmp_path):
    from transformers import AutoTokenizer

    from langadapt.cli.main import main

    base = tmp_path / "base-no-template"
    shutil.copytree(tiny_model_dir, base)
    (base / "chat_template.jinja").unlink(missing_ok=True)
    cfg = json.loads((base / "tokenizer_config.json").read_text())
    cfg.pop("chat_template", None)
    (base / "tokenizer_config.json").write_text(json.dumps(cfg))
    assert AutoTokenizer.from_pretrained(base).chat_template is None

    data = tmp_path / "chat.jsonl"
    pairs = [("床前明月光", "疑是地上霜"), ("舉頭望明月", "低頭思故鄉"), ("春眠不覺曉", "處處聞啼鳥"), ("夜來風雨聲", "花落知多少")]
    data.write_text("".join(json.dumps({"messages": [{"role": "user", "content": q}, {"role": "assistant", "content": a}]},
                                       ensure_ascii=False) + "\n" for q, a in pairs), encoding="utf-8")
    out = tmp_path / "sft"
    run(cli("sft", "--model", str(base), "--data", str(data), "--out", str(out), "--method", "lora", "--max-steps", "2",
            "--per-device-batch-size", "2", "--max-seq-length", "64", "sft.lora.r=4", "sft.lora.alpha=8"))

    msgs = [{"role": "user", "content": "床前明月光"}]
    for folder in (out / "model", out / "adapter"):
        tok = AutoTokenizer.from_pretrained(folder)
        assert tok.chat_template and "<|im_start|>" in tok.chat_template, folder

    for source in (["--model", str(out / "model")], ["--adapter", str(out / "adapter")]):
        export = tmp_path / ("export-" + source[0].strip("-"))
        assert main(["export", *source, "--out", str(export), "--dtype", "fp32"]) == 0
        tok = AutoTokenizer.from_pretrained(export)
        text = tok.apply_chat_template(msgs, tokenize=False, add_generation_prompt=True)
        assert text == "<|im_start|>user\n床前明月光<|im_end|>\n<|im_start|>assistant\n", (source, text)
