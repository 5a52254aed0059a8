"""`langadapt plan`: memory estimates from architecture facts kept in the repo (no download)."""

from __future__ import annotations

import pytest

from langadapt.cli.main import main
from langadapt.config.load import recipe_from_dict
from langadapt.models.archs import find_arch
from langadapt.train.plan import plan_recipe


def test_arch_parameter_counts_match_published_sizes():
    for ref, billions in (("meta-llama/Llama-3.2-3B", 3.21), ("meta-llama/Llama-2-7b-hf", 6.74),
                          ("meta-llama/Llama-2-13b-hf", 13.02), ("facebook/xglm-7.5B", 7.49),
                          ("smollm2-135m-instruct", 0.135), ("meta-llama/Llama-3.1-8B", 8.03)):
        assert find_arch(ref).num_parameters() / 1e9 == pytest.approx(billions, rel=0.01), ref


def test_arch_from_local_config_matches_real_model(smollm2_dir):
    import json

    from safetensors import safe_open

    arch = find_arch(str(smollm2_dir))
    total = 0
    for f in smollm2_dir.glob("*.safetensors"):
        with safe_open(str(f), "pt") as st:
            total += sum(st.get_slice(k).get_shape()[0] * (st.get_slice(k).get_shape()[1] if len(st.get_slice(k).get_shape()) > 1 else 1) for k in st.keys())
    assert arch.num_parameters() == total
    assert json.loads((smollm2_dir / "config.json").read_text())["hidden_size"] == arch.hidden


def _seed002(method: str):
    return recipe_from_dict({"name": "luojiu", "base_model": "meta-llama/Llama-2-7b-hf", "languages": ["zh-Hant"],
                             "pretrain": {"method": method, "per_device_batch_size": 8, "gradient_accumulation_steps": 4,
                                          "max_seq_length": 1024, "gradient_checkpointing": True,
                                          "lora": {"r": 32, "alpha": 64}}})


def test_seed002_qlora_fits_a10_but_full_does_not():
    q = plan_recipe(_seed002("qlora"), "a10-24gb")["stages"]["pretrain"]
    full = plan_recipe(_seed002("full"), "a10-24gb")["stages"]["pretrain"]
    assert q["fits"] and 10 < q["memory_gb"]["total"] < 24
    assert not full["fits"] and full["hints"]
    assert plan_recipe(_seed002("full"), "h100-80gb")["stages"]["pretrain"]["hours"] < full["hours"]


def test_plan_cli(tmp_path, capsys):
    recipe = tmp_path / "r.yaml"
    recipe.write_text("name: x\nbase_model: meta-llama/Llama-3.2-3B\nlanguages: [zh-Hant]\n"
                      "pretrain: {method: full, max_seq_length: 4096, per_device_batch_size: 8}\n")
    assert main(["plan", str(recipe), "--gpu", "h100-80gb"]) == 0
    out = capsys.readouterr().out
    assert "pretrain (full, seq 4096 x batch 8)" in out and "GB" in out
    assert main(["plan", str(recipe), "--gpu", "no-such-gpu"]) == 2
