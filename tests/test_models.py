"""Model references: aliases, GGUF files, local folders, adapters, Hub ids, with clear errors."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
import torch

from langadapt.models import ModelNotFound, load_model, load_tokenizer, resolve_model
from langadapt.models.gguf import save_plain, smollm2_gguf


def test_hub_id_is_kept_as_is():
    resolved = resolve_model("meta-llama/Llama-3.2-3B")
    assert resolved.kind == "hub" and resolved.weights == "meta-llama/Llama-3.2-3B"


def test_hub_model_offline_gives_clear_error(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(ModelNotFound, match="could not load from the Hugging Face Hub.*offline"):
        load_tokenizer("langadapt-test/not-a-real-model")


def test_unknown_reference_lists_aliases(tmp_path):
    with pytest.raises(ModelNotFound, match="smollm2-135m-instruct"):
        resolve_model("no-such-alias")
    with pytest.raises(ModelNotFound, match="no such GGUF file"):
        resolve_model(str(tmp_path / "missing.gguf"))
    (tmp_path / "empty").mkdir()
    with pytest.raises(ModelNotFound, match="neither config.json"):
        resolve_model(str(tmp_path / "empty"))


def test_tiny_model_is_small_and_uses_real_tokenizer(tiny_model_dir):
    model = load_model(str(tiny_model_dir))
    tok = load_tokenizer(str(tiny_model_dir))
    assert model.config.hidden_size == 64 and model.config.num_hidden_layers == 2
    assert len(tok) == 49152 == model.config.vocab_size
    assert tok.decode(tok.encode("你好嗎 Jack")) == "你好嗎 Jack"


def test_adapter_folder_resolves_to_its_base(tiny_model_dir, tmp_path):
    from peft import LoraConfig, get_peft_model

    model = load_model(str(tiny_model_dir))
    peft_model = get_peft_model(model, LoraConfig(r=4, target_modules=["q_proj", "v_proj"], init_lora_weights=False))
    peft_model.save_pretrained(tmp_path / "adapter")
    resolved = resolve_model(str(tmp_path / "adapter"))
    assert resolved.kind == "adapter" and resolved.base.kind == "local"
    ids = torch.tensor([[1, 2, 3, 4]])
    merged = load_model(str(tmp_path / "adapter"), merge_adapter=True)
    with torch.inference_mode():
        expected = peft_model.eval()(ids).logits
        torch.testing.assert_close(merged(ids).logits, expected, rtol=1e-4, atol=1e-4)
        assert not torch.allclose(load_model(str(tiny_model_dir))(ids).logits, expected)


@pytest.mark.integration
def test_info_prints_real_smollm2_config():
    proc = subprocess.run([sys.executable, "-m", "langadapt", "info", "smollm2-135m-instruct", "--json",
                           "--text", "zh-Hant=人人生而自由，在尊嚴和權利上一律平等。"],
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    info = json.loads(proc.stdout)
    assert info["architecture"] == "LlamaForCausalLM"
    assert (info["hidden_size"], info["num_layers"], info["vocab_size"]) == (576, 30, 49152)
    assert info["chat_template"] is True
    assert 134_000_000 < info["parameters"] < 136_000_000
    assert info["tokens_per_char"]["zh-Hant"] > 1.0  # an English-centric tokenizer: more tokens than characters


@pytest.mark.integration
def test_gguf_model_saves_plain_and_reloads_identically(tmp_path):
    from transformers import AutoModelForCausalLM

    gguf = smollm2_gguf()
    from_gguf = AutoModelForCausalLM.from_pretrained(str(gguf.parent), gguf_file=gguf.name)
    assert from_gguf.hf_quantizer is not None  # the state that must not leak into a saved checkpoint
    save_plain(from_gguf, tmp_path / "plain")
    config = json.loads((tmp_path / "plain" / "config.json").read_text())
    assert "quantization_config" not in config and config["architectures"] == ["LlamaForCausalLM"]
    assert list((tmp_path / "plain").glob("*.safetensors"))
    reloaded = AutoModelForCausalLM.from_pretrained(tmp_path / "plain")
    ids = torch.tensor([[1, 504, 3458, 314, 260, 1345]])
    with torch.inference_mode():
        torch.testing.assert_close(reloaded(ids).logits, from_gguf(ids).logits, rtol=0, atol=0)


@pytest.mark.integration
def test_alias_is_cached_plain_checkpoint(smollm2_dir):
    config = json.loads((smollm2_dir / "config.json").read_text())
    assert "quantization_config" not in config
    assert (smollm2_dir / "model.safetensors").exists()
    assert resolve_model("smollm2-135m-instruct").path == str(smollm2_dir)
