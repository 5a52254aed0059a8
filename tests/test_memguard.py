"""The memory guard: a model too big for host memory is a clear error before anything is allocated, not a kill by
the kernel partway into loading (the tokenizer stage's resize is covered in test_tokenizer_only.py)."""

from __future__ import annotations

import pytest
from _train_helpers import huge_model, write_corpus


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    return write_corpus(tmp_path_factory.mktemp("corpus"), n_target=20, n_replay=2)


def test_memory_guard_stops_cpu_training_and_loading_too(tiny_model_dir, corpus, tmp_path, capsys):
    """The same guard before CPU training (weights, and for full fine-tuning their gradients and AdamW moments)
    and before any CPU model load (eval, chat, serve, export)."""
    from langadapt.cli.main import main
    from langadapt.errors import UserError
    from langadapt.models import load_model

    big = huge_model(tiny_model_dir, tmp_path / "huge-model")
    for method, low, high in (("full", 5600, 6800), ("lora", 1400, 1700)):
        code = main(["pretrain", "--model", str(big), "--data", str(corpus), "--out", str(tmp_path / method),
                     "--method", method, "--max-steps", "1"])
        err = capsys.readouterr().err
        assert code == 2 and f"with method {method} on CPU needs about" in err, err
        assert low < float(err.split("needs about ")[1].split(" GB")[0]) < high
        assert ("method=lora" in err) == (method == "full")
    with pytest.raises(UserError, match=r"loading .*huge-model needs about"):
        load_model(big)
    with pytest.raises(UserError, match=r"needs about 7\d\d\.\d GB"):  # bf16: two bytes a parameter
        load_model(big, dtype="bf16")
