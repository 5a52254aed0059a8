"""Export: LoRA with an extended vocabulary merged into standalone weights, checked against base+adapter.

Run: .venv/bin/pytest tests/test_export.py -q
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

# Real text: Article 1 of the Universal Declaration of Human Rights and Li Bai's "Quiet Night Thoughts".
TEXTS = [
    "人人生而自由，在尊嚴和權利上一律平等。他們賦有理性和良心，並應以兄弟關係的精神相對待。",
    "床前明月光，疑是地上霜。舉頭望明月，低頭思故鄉。",
    "All human beings are born free and equal in dignity and rights.",
]
NEW_TOKENS = ["人人生而", "自由", "尊嚴", "權利", "平等", "理性", "良心", "兄弟", "明月", "故鄉", "地上霜"]
PROMPT = "舉頭望明月，人人生而自由"


def build_lora_run(base_dir: Path, work: Path, variant: str = "tokens", steps: int = 6, lr: float = 3e-2) -> dict:
    """A tokenizer-stage folder (resized model + extended tokenizer) and a LoRA adapter trained on real text."""
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM, AutoTokenizer

    torch.manual_seed(0)
    tok = AutoTokenizer.from_pretrained(base_dir)
    model = AutoModelForCausalLM.from_pretrained(base_dir, dtype=torch.float32)
    n0 = len(tok)
    tok.add_tokens(NEW_TOKENS)
    model.resize_token_embeddings(len(tok), pad_to_multiple_of=64)
    ext = work / "tokenizer-model"
    model.save_pretrained(ext)
    tok.save_pretrained(ext)
    (ext / "langadapt_extension.json").write_text(json.dumps({
        "base_model": str(base_dir), "base_vocab_size": n0, "new_token_ids": [n0, len(tok)],
        "padded_vocab_size": model.get_input_embeddings().weight.shape[0], "init": "mean"}))
    new_ids = list(range(n0, len(tok)))
    if variant == "tokens":
        cfg = LoraConfig(r=8, lora_alpha=16, target_modules=["q_proj", "v_proj", "o_proj", "up_proj"],
                         trainable_token_indices={"embed_tokens": new_ids})
    else:  # full trained copies of both matrices, deliberately not tied to each other
        cfg = LoraConfig(r=8, lora_alpha=16, target_modules=["q_proj", "v_proj"],
                         modules_to_save=["embed_tokens", "lm_head"], ensure_weight_tying=False)
    peft_model = get_peft_model(model, cfg)
    opt = torch.optim.AdamW([p for p in peft_model.parameters() if p.requires_grad], lr=lr)
    batch = tok(TEXTS, return_tensors="pt", padding=True)
    labels = batch["input_ids"].masked_fill(batch["attention_mask"] == 0, -100)
    losses = []
    for _ in range(steps):
        loss = peft_model(**batch, labels=labels).loss
        loss.backward()
        opt.step()
        opt.zero_grad()
        losses.append(loss.item())
    adapter = work / "adapter"
    peft_model.save_pretrained(adapter)
    tok.save_pretrained(adapter)
    return {"ext": ext, "adapter": adapter, "new_ids": new_ids, "losses": losses}


def base_plus_adapter(run: dict):
    import torch
    from peft import PeftModel
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tok = AutoTokenizer.from_pretrained(run["adapter"])
    base = AutoModelForCausalLM.from_pretrained(run["ext"], dtype=torch.float32)
    model = PeftModel.from_pretrained(base, str(run["adapter"]))
    model.eval()
    return model, tok


def greedy_ids(model, tok, prompt: str = PROMPT, n: int = 12) -> list[int]:
    import torch

    ids = tok(prompt, return_tensors="pt")
    with torch.no_grad():
        out = model.generate(**ids, max_new_tokens=n, do_sample=False, pad_token_id=tok.pad_token_id)
    return out[0].tolist()


PLAIN_LOAD = """
import json, sys, torch
from transformers import AutoModelForCausalLM, AutoTokenizer
path, prompt = sys.argv[1], sys.argv[2]
tok = AutoTokenizer.from_pretrained(path)
model = AutoModelForCausalLM.from_pretrained(path, dtype=torch.float32)
ids = tok(prompt, return_tensors="pt")
out = model.generate(**ids, max_new_tokens=12, do_sample=False, pad_token_id=tok.pad_token_id)
print(json.dumps({"ids": out[0].tolist(), "langadapt_loaded": "langadapt" in sys.modules, "vocab": len(tok)}))
"""


def reload_greedy(folder: Path) -> list[int]:
    """Greedy ids from the export loaded in this process with plain transformers."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    return greedy_ids(AutoModelForCausalLM.from_pretrained(folder, dtype=torch.float32).eval(),
                      AutoTokenizer.from_pretrained(folder))


def load_plain(folder: Path) -> dict:
    """Load and generate in a fresh interpreter that never imports langadapt."""
    env = dict(os.environ, HF_HUB_OFFLINE="1")
    proc = subprocess.run([sys.executable, "-c", PLAIN_LOAD, str(folder), PROMPT], capture_output=True, text=True,
                          env=env, cwd="/", timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def lora_run(tiny_model_dir, tmp_path_factory):
    return build_lora_run(tiny_model_dir, tmp_path_factory.mktemp("lora"))


def test_training_changed_the_new_rows(lora_run):
    from langadapt.export.merge import load_source, merge

    import torch
    from transformers import AutoModelForCausalLM

    before = AutoModelForCausalLM.from_pretrained(lora_run["ext"]).get_input_embeddings().weight[lora_run["new_ids"]]
    merged = merge(load_source(str(lora_run["ext"]), str(lora_run["adapter"])))
    after = merged.get_input_embeddings().weight[lora_run["new_ids"]]
    assert not torch.allclose(before, after, atol=1e-3)  # otherwise the tests below could not see a missed merge
    assert lora_run["losses"][-1] < lora_run["losses"][0]


def test_cli_export_loads_without_langadapt_and_generates_like_base_plus_adapter(lora_run, tmp_path):
    from langadapt.cli.main import main

    out = tmp_path / "export"
    code = main(["export", "--adapter", str(lora_run["adapter"]), "--model", str(lora_run["ext"]),
                 "--out", str(out), "--dtype", "fp32", "--version", "2025.01.31"])
    assert code == 0
    loaded = load_plain(out)
    assert loaded["langadapt_loaded"] is False
    model, tok = base_plus_adapter(lora_run)
    expected = greedy_ids(model, tok)
    assert loaded["ids"] == expected
    assert any(i in lora_run["new_ids"] for i in expected)  # the prompt exercises the trained rows
    assert loaded["vocab"] == len(tok)
    record = json.loads((out / "langadapt_export.json").read_text())
    assert record["version"] == "2025.01.31" and record["merged"] is True
    assert record["verification"]["export"]["relative_diff"] <= 1e-4
    assert {"chat_template.jinja", "generation_config.json", "README.md", "tokenizer.json"} <= {p.name for p in out.iterdir()}


def test_bf16_sharded_export_with_recipe_generation(lora_run, tmp_path):
    import torch
    from transformers import AutoModelForCausalLM

    from langadapt.config.generation import GenerationConfig
    from langadapt.export.api import export_model

    gen = GenerationConfig(temperature=0.0, max_new_tokens=77, repetition_penalty=1.1)
    out = tmp_path / "bf16"
    result = export_model(out, str(lora_run["ext"]), str(lora_run["adapter"]), dtype="bf16",
                          max_shard_size="2MB", generation=gen, log=lambda *_: None)
    assert result.info["shards"] > 1 and (out / "model.safetensors.index.json").is_file()
    assert result.verification["export"]["ok"] and result.verification["export"]["dtype"] == "bf16"
    gc = json.loads((out / "generation_config.json").read_text())
    assert gc["max_new_tokens"] == 77 and gc["do_sample"] is False and gc["repetition_penalty"] == 1.1
    model = AutoModelForCausalLM.from_pretrained(out)
    assert model.dtype == torch.bfloat16


def test_adapter_merged_without_model_takes_base_from_adapter_config(lora_run, tmp_path):
    """adapter_config.json names the original (smaller) base; export must resize it first."""
    from langadapt.export.api import export_model

    cfg = json.loads((lora_run["adapter"] / "adapter_config.json").read_text())
    assert cfg["base_model_name_or_path"] != str(lora_run["ext"])
    out = tmp_path / "from-adapter"
    result = export_model(out, adapter=str(lora_run["adapter"]), dtype="fp32", log=lambda *_: None)
    assert result.verification["export"]["relative_diff"] <= 1e-4
    model, tok = base_plus_adapter(lora_run)
    assert reload_greedy(out) == greedy_ids(model, tok)


def test_mismatch_fails_loudly(lora_run, tiny_model_dir):
    """Logits of the un-adapted model are not those of base+adapter: the check must refuse them."""
    from transformers import AutoModelForCausalLM

    from langadapt.export import verify
    from langadapt.export.merge import load_source

    src = load_source(str(lora_run["ext"]), str(lora_run["adapter"]))
    texts = verify.verification_texts(src.tokenizer, [], lora_run["new_ids"])
    reference = verify.reference_logits(src.model, src.tokenizer, texts)
    plain = AutoModelForCausalLM.from_pretrained(lora_run["ext"])
    with pytest.raises(verify.VerificationError, match="differ from base\\+adapter"):
        verify.check(reference, plain, src.tokenizer, texts, "bf16", "stale weights")


def test_modules_to_save_untied_matrices_survive(tiny_model_dir, tmp_path):
    """Separately trained embed_tokens and lm_head copies on a tied model must both be saved."""
    from langadapt.export.api import export_model

    run = build_lora_run(tiny_model_dir, tmp_path / "mts", variant="modules", steps=3)
    out = tmp_path / "export"
    result = export_model(out, str(run["ext"]), str(run["adapter"]), dtype="fp32", log=lambda *_: None)
    assert json.loads((out / "config.json").read_text())["tie_word_embeddings"] is False
    assert result.verification["export"]["relative_diff"] <= 1e-4
    model, tok = base_plus_adapter(run)
    assert reload_greedy(out) == greedy_ids(model, tok)


def test_adapter_only_export(lora_run, tmp_path):
    import torch
    from peft import PeftModel
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from langadapt.export.api import export_model

    out = tmp_path / "adapter-only"
    result = export_model(out, str(lora_run["ext"]), str(lora_run["adapter"]), merge=False, log=lambda *_: None)
    assert result.info["format"] == "peft-adapter" and not (out / "model.safetensors").exists()
    tok = AutoTokenizer.from_pretrained(out)
    base = AutoModelForCausalLM.from_pretrained(lora_run["ext"], dtype=torch.float32)
    model = PeftModel.from_pretrained(base, str(out)).eval()
    ref, ref_tok = base_plus_adapter(lora_run)
    assert greedy_ids(model, tok) == greedy_ids(ref, ref_tok)


def test_push_offline_is_a_clear_error(lora_run, tmp_path, capsys, monkeypatch):
    from langadapt.cli.main import main

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    out = tmp_path / "push"
    code = main(["export", "--adapter", str(lora_run["adapter"]), "--out", str(out), "--no-verify",
                 "--push-to-hub", "someone/some-model"])
    assert code == 2
    err = capsys.readouterr().err
    assert "offline" in err and "someone/some-model" in err
    assert (out / "README.md").is_file()  # the export itself is complete


def test_cli_needs_something_to_export(capsys):
    from langadapt.cli.main import main

    assert main(["export", "--out", "/tmp/nowhere-export"]) == 2
    assert "--run-dir, --model or --adapter" in capsys.readouterr().err


def test_out_refuses_a_foreign_folder_and_the_input(tiny_model_dir, tmp_path, capsys):
    import shutil

    from langadapt.cli.main import main

    model = tmp_path / "model"
    shutil.copytree(tiny_model_dir, model)
    before = (model / "model.safetensors").read_bytes()
    for target in (model, tmp_path):  # the input's own folder, or a folder that holds it: never, even with --overwrite
        assert main(["export", "--model", str(model), "--out", str(target), "--no-verify", "--overwrite"]) == 2
        assert "would destroy the input" in capsys.readouterr().err
    assert (model / "model.safetensors").read_bytes() == before

    out = tmp_path / "somebody-elses"
    out.mkdir()
    (out / "thesis.tex").write_text("years of work")
    assert main(["export", "--model", str(model), "--out", str(out), "--no-verify"]) == 2
    err = capsys.readouterr().err
    assert "not an output of `langadapt export`" in err and "--overwrite" in err
    assert (out / "thesis.tex").read_text() == "years of work"

    assert main(["export", "--model", str(model), "--out", str(out), "--no-verify", "--overwrite"]) == 0
    assert not (out / "thesis.tex").exists()
    assert json.loads((out / "langadapt_output.json").read_text())["command"] == "export"
    assert main(["export", "--model", str(model), "--out", str(out), "--no-verify", "--version", "2"]) == 0  # its own output
    assert json.loads((out / "langadapt_export.json").read_text())["version"] == "2"


def test_export_choice_skips_an_sft_stage_that_did_not_lower_its_validation_loss(tmp_path):
    """export.source auto: the last training stage, unless SFT's own validation loss did not go down."""
    from langadapt.config.load import load_recipe
    from langadapt.export.stage import chosen_stages, export_choice
    from langadapt.rundir import RunDir, StageRecord
    from langadapt.stages import StageContext

    recipe = load_recipe(Path("recipes/demo-zh-tw.yaml"), [f"run_dir={tmp_path}"])
    run = RunDir(tmp_path / "run")
    artifacts = {"pretrain.model": str(tmp_path / "cpt"), "sft.model": str(tmp_path / "sft")}

    def context(start: float, end: float, source: str = "auto") -> StageContext:
        run.write_manifest(StageRecord(stage="sft", fingerprint="f", config={}, inputs={}, outputs={},
                                       metrics={"method": "lora", "eval_loss_start": start, "eval_loss": end}))
        chosen = recipe.model_copy(update={"export": recipe.export.model_copy(update={"source": source})})
        return StageContext(recipe=chosen, out_dir=tmp_path / "export", run_dir=run, artifacts=artifacts)

    def shipped(ctx: StageContext) -> tuple[str, str | None]:
        choice = export_choice(ctx)
        return choice.model, choice.adapter

    assert shipped(context(5.9, 5.7)) == (str(tmp_path / "sft"), None)
    stuck = context(5.9, 5.95)
    assert shipped(stuck) == (str(tmp_path / "cpt"), None)
    assert "did not lower its validation loss (5.9000 -> 5.9500)" in chosen_stages(stuck)[1]
    assert shipped(context(5.9, 5.95, source="sft")) == (str(tmp_path / "sft"), None)
    # the export names the stage it shipped, not only the path it merged from
    assert export_choice(context(5.9, 5.7)).stage == "sft"
    assert export_choice(context(5.9, 5.95)).stage == "pretrain"
