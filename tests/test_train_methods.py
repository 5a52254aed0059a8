"""A training method is one registered object: registering one here makes it a recipe value, a
`--method` choice, a trainable pretrain step, a `plan` estimate and a label on the model card."""

from __future__ import annotations

import json

import pytest
import torch
from _train_helpers import write_corpus
from safetensors.torch import load_file

from langadapt.cli.main import main
from langadapt.config.load import RecipeError, recipe_from_dict
from langadapt.export.card import CardInputs, front_matter, render
from langadapt.models.archs import find_arch
from langadapt.train import methods
from langadapt.train.methods import TrainingMethod
from langadapt.train.plan import estimate


class NormsOnly(TrainingMethod):
    """Trains the RMSNorm gains and nothing else, over an fp32 base (no adapter to merge)."""

    name = "norms-only"
    label = "norm gains only"
    card_tag = "norm-tuning"

    def make_trainable(self, model, cfg, new_ids, tied, notes):
        for name, param in model.named_parameters():
            param.requires_grad = "norm" in name
        return model

    def trainable_parameters(self, arch, cfg, vocab, new_tokens):
        return arch.hidden * (2 * arch.layers + 1)  # two norms per layer and the final one


@pytest.fixture
def norms_only():
    method = methods.register(NormsOnly())
    yield method
    methods.unregister(method.name)


def _recipe(tiny_model_dir, *overrides):
    return recipe_from_dict({"name": "t", "base_model": str(tiny_model_dir), "languages": ["zh-Hant"],
                             "pretrain": {"enabled": True}}, "<test>", list(overrides))


def test_builtin_methods_and_unknown_names(tiny_model_dir):
    assert methods.names() == ["full", "lora", "qlora", "embeddings"]
    with pytest.raises(RecipeError) as err:
        _recipe(tiny_model_dir, "pretrain.method=lorra")
    assert str(err.value) == ("<test>: pretrain.method: Input should be 'full', 'lora', 'qlora' or 'embeddings' "
                              "(got 'lorra'), did you mean lora?")
    with pytest.raises(RecipeError, match="got 'norms-only'"):
        _recipe(tiny_model_dir, "pretrain.method=norms-only")


def test_registered_method_trains_plans_and_labels_the_card(tmp_path, tiny_model_dir, norms_only, capsys):
    assert _recipe(tiny_model_dir, "pretrain.method=norms-only").pretrain.method == "norms-only"
    with pytest.raises(RecipeError, match="did you mean norms-only"):
        _recipe(tiny_model_dir, "pretrain.method=norms-onyl")

    corpus = write_corpus(tmp_path / "c", n_target=10, n_replay=2)
    out = tmp_path / "out"
    code = main(["pretrain", "--model", str(tiny_model_dir), "--data", str(corpus), "--out", str(out),
                 "--method", "norms-only", "--max-steps", "1", "--max-seq-length", "32", "--per-device-batch-size", "2",
                 "--learning-rate", "1e-2"])
    assert code == 0 and "pretrain: 1 steps" in capsys.readouterr().out
    result = json.loads((out / "result.json").read_text())
    m = result["metrics"]
    assert m["method"] == "norms-only" and m["hyperparameters"]["method"] == "norms-only"
    assert "adapter" not in result["outputs"]  # not a PEFT method: the model folder is the trained model

    before = load_file(str(tiny_model_dir / "model.safetensors"))
    after = load_file(str(out / "model" / "model.safetensors"))
    changed = {k for k in before if not torch.equal(before[k], after[k])}
    assert changed and all("norm" in k for k in changed)

    arch = find_arch(str(tiny_model_dir))
    cfg = _recipe(tiny_model_dir, "pretrain.method=norms-only").pretrain
    plan = estimate(arch, cfg, "t4-16gb")
    assert plan["method"] == "norms-only" and plan["trainable_parameters"] == m["trainable_parameters"] == 320

    config = {"pretrain": {"method": "norms-only", "learning_rate": 1e-2, "lora": {"r": 64}}}
    manifests = {"pretrain": {"metrics": m, "config": config}}
    card = render(CardInputs(name="t", base_model=str(tiny_model_dir), manifests=manifests, folder=tmp_path / "card"))
    assert "continual pretraining (norm gains only, 1 steps" in card
    assert "#### Continual pretraining (`pretrain`, norm gains only)" in card
    assert "`lora.r`" not in card  # LoRA settings belong to the methods that read them
    assert "norm-tuning" in front_matter(CardInputs(name="t", base_model="x", manifests=manifests, folder=tmp_path))


def test_full_says_it_does_not_apply_the_new_rows_rate(tiny_model_dir):
    """method full trains the new rows inside the one embedding matrix: the LoRA section's rate for them is not
    applied, and the run's notes (metrics.jsonl's start event) say so instead of silently ignoring it."""
    cfg = _recipe(tiny_model_dir, "pretrain.method=full", "pretrain.learning_rate=1e-4",
                  "pretrain.lora.embedding_learning_rate=2e-3").pretrain
    notes: list[str] = []
    methods.get("full").make_trainable(None, cfg, [10, 11, 12], True, notes)
    assert notes == ["lora.embedding_learning_rate=0.002 is not applied by method full: its 3 new token rows "
                     "train with every other weight at learning_rate=0.0001"]
    quiet: list[str] = []
    methods.get("full").make_trainable(None, cfg, [], True, quiet)  # no new rows: nothing to say
    assert quiet == []
