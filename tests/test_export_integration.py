"""Done-when check on the real SmolLM2-135M: LoRA CPT with an extended tokenizer, exported and reloaded without langadapt.

Run: .venv/bin/pytest tests/test_export_integration.py -q -m integration
"""

from __future__ import annotations

import json

import pytest

from test_export import base_plus_adapter, build_lora_run, greedy_ids, load_plain


@pytest.mark.integration
def test_smollm2_lora_with_extended_vocab_exports_standalone(smollm2_dir, tmp_path):
    from langadapt.cli.main import main

    run = build_lora_run(smollm2_dir, tmp_path / "run", steps=1, lr=1e-2)
    out = tmp_path / "export"
    assert main(["export", "--model", str(run["ext"]), "--adapter", str(run["adapter"]), "--out", str(out),
                 "--dtype", "fp32"]) == 0
    loaded = load_plain(out)
    assert loaded["langadapt_loaded"] is False
    model, tok = base_plus_adapter(run)
    assert loaded["ids"] == greedy_ids(model, tok)
    record = json.loads((out / "langadapt_export.json").read_text())
    assert record["verification"]["merge"]["relative_diff"] <= 1e-4
    card = (out / "README.md").read_text(encoding="utf-8")
    assert "license: apache-2.0" in card  # carried from the base model's GGUF metadata
    assert f"**Vocabulary:** {len(tok):,}" in card
