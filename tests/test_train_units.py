"""Fast checks of the training pieces on the tiny random Llama: packing, SFT labels, schedules, methods, S2-Attn."""

from __future__ import annotations

import json
import math

import pytest
import torch

from langadapt.config.train import PretrainConfig, SftConfig
from langadapt.errors import UserError
from langadapt.data import sft_records
from langadapt.train import data_cpt, data_sft
from langadapt.train.batching import collate, global_batch_indices, micro_batches
from langadapt.train.schedule import lr_factor, warmup_steps


def test_pack_restarts_positions_and_masks_document_starts():
    docs = [[1, 2, 3], [4, 5, 6, 7, 8], [9, 10]]
    seqs = data_cpt.pack(docs, max_len=4)
    assert [s["input_ids"] for s in seqs] == [[1, 2, 3, 4], [5, 6, 7, 8], [9, 10]]
    assert seqs[0]["position_ids"] == [0, 1, 2, 0] and seqs[1]["position_ids"] == [0, 1, 2, 3]
    assert seqs[0]["labels"] == [-100, 2, 3, -100]
    batch = collate(seqs, pad_id=0, packed=True)
    assert "attention_mask" not in batch
    assert batch["position_ids"][2].tolist() == [0, 1, 0, 1] and batch["labels"][2].tolist() == [-100, 10, -100, -100]


def test_packed_forward_equals_separate_documents(tiny_model_dir):
    """Per-document attention: logits of a packed row equal those of each document run alone."""
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(tiny_model_dir, attn_implementation="sdpa").eval()
    a, b = [5, 17, 300, 41, 7], [900, 12, 13]
    batch = collate(data_cpt.pack([a, b], max_len=16), pad_id=0, packed=True)
    with torch.no_grad():
        # No KV cache: transformers only reads packed positions as document boundaries without one.
        packed = model(input_ids=batch["input_ids"], position_ids=batch["position_ids"], use_cache=False).logits[0]
        alone_a = model(input_ids=torch.tensor([a])).logits[0]
        alone_b = model(input_ids=torch.tensor([b])).logits[0]
        leaky = model(input_ids=batch["input_ids"]).logits[0]
    assert torch.allclose(packed[:5], alone_a, atol=1e-5)
    assert torch.allclose(packed[5:8], alone_b, atol=1e-5)
    assert not torch.allclose(leaky[5:8], alone_b, atol=1e-3)  # without restarts, b would see a


def test_mix_weights_and_replay_share():
    docs = [{"text": "x" * 100, "source": "zh"} for _ in range(50)] + [{"text": "y" * 100, "source": "en"} for _ in range(50)]
    mixed, summary = data_cpt.mix_documents(docs, {"zh": 2.0}, {"en"}, replay_share=0.2, seed=1)
    assert summary["zh"]["documents"] == 100
    assert abs(summary["en"]["share"] - 0.2) < 0.01
    train, val = data_cpt.split_validation(docs, 0.1, seed=3)
    assert len(val) == 10 and not {id(d) for d in val} & {id(d) for d in train}


def test_data_order_is_resumable_and_sharded():
    first = global_batch_indices(100, 8, seed=5, step=3)
    assert first == global_batch_indices(100, 8, seed=5, step=3)
    epoch = [i for s in range(12) for i in global_batch_indices(100, 8, seed=5, step=s)]
    assert len(set(epoch)) == 96  # one epoch: no repeats, tail dropped
    assert global_batch_indices(100, 8, seed=5, step=12) != global_batch_indices(100, 8, seed=5, step=0)
    shards = [micro_batches(first, r, 2, 2) for r in range(2)]
    assert sorted(i for s in shards for m in s for i in m) == sorted(first)


def test_schedules():
    assert warmup_steps(100, 0, 0.1) == 10 and warmup_steps(100, 5, 0.5) == 5
    cos = [lr_factor(s, 100, 10, "cosine", 0.1) for s in range(100)]
    assert cos[0] < cos[5] < cos[9] <= 1.0 and math.isclose(cos[10], 1.0)
    assert all(a >= b for a, b in zip(cos[10:], cos[11:])) and cos[-1] >= 0.1 and cos[-1] < 0.11
    lin = [lr_factor(s, 100, 0, "linear") for s in range(100)]
    assert lin[0] == 1.0 and lin[50] == pytest.approx(0.5)
    assert lr_factor(70, 100, 10, "constant") == 1.0


def test_sft_formats_agree():
    alpaca = sft_records.to_messages({"instruction": "續寫", "input": "床前明月光", "output": "疑是地上霜"})
    share = sft_records.to_messages({"conversations": [{"from": "human", "value": "續寫\n\n床前明月光"}, {"from": "gpt", "value": "疑是地上霜"}]})
    msgs = sft_records.to_messages({"messages": [{"role": "user", "content": "續寫\n\n床前明月光"}, {"role": "assistant", "content": "疑是地上霜"}]})
    assert alpaca == share == msgs
    with pytest.raises(UserError):
        sft_records.detect_format({"prompt": "x"})


def test_sft_labels_cover_only_assistant_turns(smollm2_tokenizer):
    tok = smollm2_tokenizer
    conv = [{"role": "system", "content": "你是詩人。"}, {"role": "user", "content": "上句：床前明月光"},
            {"role": "assistant", "content": "疑是地上霜"}, {"role": "user", "content": "再一句"},
            {"role": "assistant", "content": "舉頭望明月"}]
    template = data_sft.resolve_template(tok, None)
    ex = data_sft.encode(tok, conv, template, max_len=512)
    learned = tok.decode([t for t, l in zip(ex["input_ids"], ex["labels"]) if l != -100])
    assert "疑是地上霜" in learned and "舉頭望明月" in learned
    assert "床前明月光" not in learned and "你是詩人" not in learned and "再一句" not in learned
    assert learned.count("<|im_end|>") == 2  # each assistant turn learns to stop
    packed = data_sft.pack_examples([ex, ex], max_len=2 * len(ex["input_ids"]))
    assert len(packed) == 1 and packed[0]["position_ids"].count(0) == 2


def test_qlora_without_cuda_fails_before_work(tmp_path):
    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    from langadapt.train.trainer import train

    cfg = PretrainConfig(method="qlora")
    called = []
    with pytest.raises(UserError, match="CUDA"):
        train(cfg, "no-such-model-is-loaded", tmp_path, lambda tok: called.append(tok), stage="pretrain")
    assert not called and not any(tmp_path.iterdir())


def _extended_model(tmp_path, tiny_model_dir):
    """The tokenizer stage's output shape: new tokens appended, rows resized, extension file written."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tok = AutoTokenizer.from_pretrained(tiny_model_dir)
    model = AutoModelForCausalLM.from_pretrained(tiny_model_dir)
    base = len(tok)
    tok.add_tokens(["明月光", "地上霜", "春眠"])
    model.resize_token_embeddings(len(tok))
    out = tmp_path / "extended"
    model.save_pretrained(out)
    tok.save_pretrained(out)
    (out / "langadapt_extension.json").write_text(json.dumps({"base_vocab_size": base, "new_token_ids": [base, len(tok)]}))
    return out, base, len(tok)


@pytest.mark.parametrize("method", ["embeddings", "lora"])
def test_new_token_rows_train_with_their_own_lr(tmp_path, tiny_model_dir, method):
    from safetensors.torch import load_file

    from langadapt.train.stage import pretrain

    model_dir, first, last = _extended_model(tmp_path, tiny_model_dir)
    corpus = tmp_path / "c.jsonl"
    corpus.write_text("".join(json.dumps({"text": "床前明月光，疑是地上霜。春眠不覺曉" * 3, "source": "p"}, ensure_ascii=False) + "\n" for _ in range(8)))
    cfg = PretrainConfig(method=method, max_steps=3, per_device_batch_size=2, max_seq_length=32, learning_rate=1e-3,
                         validation_fraction=0, lora={"r": 4, "alpha": 8, "embedding_learning_rate": 5e-2})
    result = pretrain(cfg, str(model_dir), corpus, tmp_path / "out")
    before = load_file(str(model_dir / "model.safetensors"))["model.embed_tokens.weight"]
    after = load_file(str(tmp_path / "out" / "model" / "model.safetensors"))["model.embed_tokens.weight"]
    changed = (after - before).abs().sum(-1) > 0
    assert changed[first:last].all() and not changed[:first].any()
    rows = [json.loads(x) for x in (tmp_path / "out" / "metrics.jsonl").read_text().splitlines()]
    assert rows[1]["lr_new_tokens"] == pytest.approx(5e-2)  # step 1, no warmup: the rows' own peak rate
    assert (tmp_path / "out" / "model" / "langadapt_extension.json").is_file()
    assert (tmp_path / "out" / "adapter" / "adapter_config.json").is_file()
    assert result.metrics["trainable_parameters"] < result.metrics["num_parameters"] / 10


def test_s2attn_groups_and_inference_fallback():
    from langadapt.train.s2attn import s2_attention

    torch.manual_seed(0)
    b, h, s, d, g = 1, 4, 16, 8, 4
    q, k, v = (torch.randn(b, h, s, d) for _ in range(3))
    out = s2_attention(q, k, v, g, d ** -0.5)

    def ref_attend(qh, kh, vh, lo, hi):  # causal attention restricted to [lo, hi)
        scores = qh[lo:hi] @ kh[lo:hi].T * d ** -0.5
        scores = scores.masked_fill(torch.ones(hi - lo, hi - lo).triu(1).bool(), float("-inf"))
        return scores.softmax(-1) @ vh[lo:hi]

    for head in range(h):
        shift = 0 if head < h // 2 else g // 2
        bounds = sorted({0, s, *range(shift or g, s, g)})
        for lo, hi in zip(bounds, bounds[1:]):
            exp = ref_attend(q[0, head], k[0, head], v[0, head], lo, hi)
            assert torch.allclose(out[0, head, lo:hi], exp, atol=1e-5), (head, lo)


def test_s2attn_model_trains_sparse_and_infers_full(tiny_model_dir):
    from transformers import AutoModelForCausalLM

    from langadapt.train.s2attn import register

    name = register(0.25)
    s2 = AutoModelForCausalLM.from_pretrained(tiny_model_dir, attn_implementation=name)
    full = AutoModelForCausalLM.from_pretrained(tiny_model_dir, attn_implementation="sdpa")
    ids = torch.randint(0, 1000, (2, 32))
    s2.eval(), full.eval()
    with torch.no_grad():
        assert torch.allclose(s2(ids).logits, full(ids).logits, atol=1e-5)  # inference: full attention
        s2.train()
        sparse = s2(ids).logits
    assert not torch.allclose(sparse, full(ids).logits, atol=1e-3)


def test_precision_auto_and_cpu_bf16(tmp_path, tiny_model_dir):
    from safetensors.torch import load_file

    from langadapt.train.loading import cpu_has_native_bf16, resolve_precision
    from langadapt.train.stage import pretrain

    if torch.cuda.is_available():
        pytest.skip("CPU precision rules")
    assert resolve_precision("auto") == ("bf16" if cpu_has_native_bf16() else "fp32")
    assert resolve_precision("fp32") == "fp32" and resolve_precision("bf16") == "bf16"
    with pytest.raises(UserError, match="fp16 needs a GPU"):
        resolve_precision("fp16")
    # bf16 on CPU is autocast over fp32 weights: the saved model is not rounded to bf16
    corpus = tmp_path / "c.jsonl"
    corpus.write_text("".join(json.dumps({"text": "床前明月光，疑是地上霜。" * 4, "source": "p"}, ensure_ascii=False) + "\n" for _ in range(8)))
    cfg = PretrainConfig(method="lora", max_steps=2, per_device_batch_size=2, max_seq_length=32, learning_rate=1e-3,
                         validation_fraction=0, precision="bf16", lora={"r": 4, "alpha": 8})
    result = pretrain(cfg, str(tiny_model_dir), corpus, tmp_path / "out")
    weights = load_file(str(tmp_path / "out" / "model" / "model.safetensors"))
    assert {t.dtype for t in weights.values()} == {torch.float32}
    assert math.isfinite(result.metrics["final_train_loss"])
    base = load_file(str(tiny_model_dir / "model.safetensors"))["model.layers.0.self_attn.q_proj.weight"]
    assert not torch.equal(weights["model.layers.0.self_attn.q_proj.weight"], base)  # the merged LoRA moved it
