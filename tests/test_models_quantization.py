"""8-bit / 4-bit loading: without CUDA the user gets a clear message before any weights are read."""

from __future__ import annotations

import pytest
import torch

from langadapt.cli.main import main
from langadapt.errors import UserError
from langadapt.models import load_model

pytestmark = pytest.mark.skipif(torch.cuda.is_available(), reason="checks the message on machines without CUDA")


@pytest.mark.parametrize("bits", ["8bit", "4bit"])
def test_no_cuda_error_before_loading(bits, tmp_path):
    # A missing model folder proves the check runs first: resolving it would raise ModelNotFound instead.
    with pytest.raises(UserError, match=f"loading in {bits} needs a CUDA GPU"):
        load_model(tmp_path / "not-a-model", quantization=bits)


def test_unknown_quantization(tiny_model_dir):
    with pytest.raises(UserError, match="8bit or 4bit"):
        load_model(tiny_model_dir, quantization="3bit")


def test_cli_load_in_message(tiny_model_dir, capsys):
    assert main(["chat", str(tiny_model_dir), "--load-in", "8bit", "--prompt", "hi"]) == 2
    assert "needs a CUDA GPU" in capsys.readouterr().err
    assert main(["eval", "--model", str(tiny_model_dir), "--tasks", "udhr-bpc", "--languages", "en",
                 "--load-in", "4bit"]) == 2
    assert "needs a CUDA GPU" in capsys.readouterr().err
