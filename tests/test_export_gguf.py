"""GGUF export: the tiny random Llama (SmolLM2 byte-level tokenizer, and the Llama-2 SentencePiece vocabulary),
extended or not, written to GGUF and read back through transformers' GGUF loader; SmolLM2 with an extended
tokenizer as the integration case; real llama.cpp when its binaries are on PATH.

Run: .venv/bin/pytest tests/test_export_gguf.py -q            (add -m integration for SmolLM2 only)
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from itertools import islice
from pathlib import Path

import pytest

from langadapt.errors import UserError
from langadapt.export.gguf import PROBE, verify_gguf, write_gguf
from langadapt.export.gguf_vocab import pre_tokenizer_name

MIXED = [
    PROBE,
    "人人生而自由，在尊嚴和權利上一律平等。All human beings are born free and equal in dignity and rights.",
    "床前明月光，疑是地上霜。\n舉頭望明月，低頭思故鄉。 (Li Bai, 701-762)",
    "  two leading spaces, tabs\tand <|im_end|> a special token 🙂",
]


def _zh_texts(n: int) -> list[str]:
    from langadapt.data.fetch import fetch
    from langadapt.tokenizer.texts import iter_texts

    return list(islice(iter_texts([fetch("zh-tw-prose")]), n))


def _extend(model: Path, work: Path, new_tokens: int) -> Path:
    """`langadapt tokenizer extend` on a small zh-Hant corpus slice; returns the resized model folder."""
    from langadapt.cli.main import main

    (work / "corpus").mkdir(parents=True)
    with open(work / "corpus" / "part-00000.jsonl", "w", encoding="utf-8") as fh:
        for text in _zh_texts(160)[:150]:
            fh.write(json.dumps({"text": text}, ensure_ascii=False) + "\n")
    assert main(["tokenizer", "extend", "--model", str(model), "--corpus", str(work / "corpus"),
                 "--new-tokens", str(new_tokens), "--out", str(work / "tok")]) == 0
    return work / "tok" / "model"


@pytest.fixture(scope="module")
def extended_tiny(tiny_model_dir, tmp_path_factory) -> Path:
    return _extend(tiny_model_dir, tmp_path_factory.mktemp("tiny-ext"), 200)


@pytest.fixture(scope="module")
def check_texts() -> list[str]:
    return MIXED + _zh_texts(160)[150:156]


def _load(folder: Path, gguf: Path | None = None):
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    kw = {"gguf_file": gguf.name} if gguf else {}
    where = gguf.parent if gguf else folder
    tok = AutoTokenizer.from_pretrained(where, **kw)
    return tok, AutoModelForCausalLM.from_pretrained(where, dtype=torch.float32, **kw).eval()


def _greedy(tok, model, prompt: str, n: int = 10) -> list[int]:
    import torch

    ids = torch.tensor([tok(prompt).input_ids])
    with torch.no_grad():
        out = model.generate(ids, max_new_tokens=n, do_sample=False, pad_token_id=tok.pad_token_id or 0)
    return out[0, ids.shape[1]:].tolist()


def _compare(folder: Path, gguf: Path, texts: list[str]) -> dict:
    """Token ids must match on every text; returns the largest logit difference and the top-1 agreement."""
    import torch

    ref_tok, ref = _load(folder)
    tok, model = _load(folder, gguf)
    for text in texts:
        assert tok(text).input_ids == ref_tok(text).input_ids, text
    worst, agree, total = 0.0, 0, 0
    with torch.no_grad():
        for text in texts:
            ids = torch.tensor([ref_tok(text).input_ids])
            a, b = ref(ids).logits[0], model(ids).logits[0]
            worst = max(worst, float((a - b).abs().max() / a.abs().max()))
            agree += int((a.argmax(-1) == b.argmax(-1)).sum())
            total += a.shape[0]
    return {"max_rel": worst, "top1": agree / total, "ref": (ref_tok, ref), "gguf": (tok, model)}


def _reader(path: Path):
    from gguf import GGUFReader

    return GGUFReader(str(path))


def _field(reader, key):
    f = reader.fields[key]
    if len(f.data) == 1:
        value = f.parts[f.data[0]]
        return bytes(value).decode("utf-8") if value.dtype.kind == "u" and value.dtype.itemsize == 1 else value[0]
    return [bytes(f.parts[i]).decode("utf-8") if f.parts[i].dtype.itemsize == 1 else f.parts[i][0] for i in f.data]


@pytest.mark.parametrize("which", ["base", "extended"])
def test_byte_level_f32_round_trip_is_exact(which, tiny_model_dir, extended_tiny, check_texts, tmp_path):
    folder = tiny_model_dir if which == "base" else extended_tiny
    result = write_gguf(folder, tmp_path / "m-f32.gguf", "f32")
    assert result.pre_tokenizer == "gpt-2" and result.tokenizer_model == "gpt2"
    got = _compare(folder, result.path, check_texts)
    assert got["max_rel"] < 1e-5 and got["top1"] == 1.0
    for prompt in ("臺北的天氣", "The weather in Taipei"):
        assert _greedy(*got["gguf"], prompt) == _greedy(*got["ref"], prompt)


def test_extended_vocabulary_layout_and_tied_head(extended_tiny, tmp_path):
    info = json.loads((extended_tiny / "langadapt_extension.json").read_text())
    first, last = info["new_token_ids"]
    spec = json.loads((extended_tiny / "tokenizer.json").read_text())
    result = write_gguf(extended_tiny, tmp_path / "m-q8_0.gguf", "q8_0")
    reader = _reader(result.path)
    names = {t.name for t in reader.tensors}
    tied = json.loads((extended_tiny / "config.json").read_text()).get("tie_word_embeddings", False)
    # tied: llama.cpp reuses the embedding; an init that fits new output rows unties them, and the head is written
    assert ("output.weight" in names) is (not tied) and "token_embd.weight" in names
    tokens, types = _field(reader, "tokenizer.ggml.tokens"), _field(reader, "tokenizer.ggml.token_type")
    assert len(tokens) == info["padded_vocab_size"] == result.n_tokens
    assert all(types[i] == 1 for i in range(first, last))  # new pieces are ordinary BPE tokens reached by merges
    assert all(types[i] == 5 and tokens[i] == f"[PAD{i}]" for i in range(last, len(tokens)))
    assert len(_field(reader, "tokenizer.ggml.merges")) == len(spec["model"]["merges"])
    assert _field(reader, "tokenizer.ggml.pre") == "gpt-2"
    assert _field(reader, "general.file_type") == 7  # MOSTLY_Q8_0
    assert {t.tensor_type.name for t in reader.tensors if t.name.endswith("attn_q.weight")} == {"Q8_0"}
    got = _compare(extended_tiny, result.path, MIXED)
    assert got["max_rel"] < 5e-2 and got["top1"] > 0.9  # a random model has near-ties


@pytest.mark.parametrize("gguf_type, tolerance", [("f16", 5e-3), ("bf16", 2e-2)])
def test_half_precision_types(gguf_type, tolerance, extended_tiny, tmp_path):
    result = write_gguf(extended_tiny, tmp_path / f"m-{gguf_type}.gguf", gguf_type)
    got = _compare(extended_tiny, result.path, MIXED[:2])
    assert got["max_rel"] < tolerance and got["top1"] > 0.95
    assert _field(_reader(result.path), "general.file_type") == {"f16": 1, "bf16": 32}[gguf_type]


@pytest.fixture(scope="module")
def llama2_tiny(tmp_path_factory) -> Path:
    """A random untied Llama with the real Llama-2 SentencePiece vocabulary (Metaspace, byte fallback)."""
    import torch
    from transformers import AutoTokenizer, LlamaConfig, LlamaForCausalLM

    from langadapt.data.fetch import fetch
    from langadapt.models.tiny import TINY_CONFIG

    base = tmp_path_factory.mktemp("llama2-tiny")
    tok = AutoTokenizer.from_pretrained(str(fetch("llama-vocab")), gguf_file="ggml-vocab-llama-spm.gguf")
    tok.save_pretrained(base)
    torch.manual_seed(0)
    config = LlamaConfig(vocab_size=32000, bos_token_id=1, eos_token_id=2, **{**TINY_CONFIG, "tie_word_embeddings": False})
    LlamaForCausalLM(config).save_pretrained(base)
    return base


@pytest.mark.parametrize("which", ["base", "extended"])
def test_sentencepiece_round_trip(which, llama2_tiny, check_texts, tmp_path):
    from langadapt.config.tokenizer import TokenizerConfig
    from langadapt.tokenizer.extend import extend_model

    folder = llama2_tiny
    if which == "extended":
        corpus = tmp_path / "zh.jsonl"
        corpus.write_text("\n".join(json.dumps({"text": t}, ensure_ascii=False) for t in _zh_texts(150)), encoding="utf-8")
        extend_model(str(llama2_tiny), [corpus], TokenizerConfig(new_tokens=150), tmp_path / "ext", progress=False)
        folder = tmp_path / "ext"
    result = write_gguf(folder, tmp_path / "spm-f32.gguf", "f32")
    reader = _reader(result.path)
    assert result.tokenizer_model == "llama" and "tokenizer.ggml.pre" not in reader.fields
    assert bool(_field(reader, "tokenizer.ggml.add_space_prefix")) and bool(_field(reader, "tokenizer.ggml.add_bos_token"))
    types = _field(reader, "tokenizer.ggml.token_type")
    assert types[0] == 2 and types[1] == 3 and all(t == 6 for t in types[3:259])  # <unk>, <s>, <0x00>..<0xFF>
    assert "output.weight" in {t.name for t in reader.tensors}  # untied head written as its own tensor
    got = _compare(folder, result.path, check_texts)
    assert got["max_rel"] < 1e-5 and got["top1"] == 1.0
    assert _greedy(*got["gguf"], "人人生而自由") == _greedy(*got["ref"], "人人生而自由")


def test_pre_tokenizer_names_from_split_rules():
    byte_level = {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": True}
    assert pre_tokenizer_name({"pre_tokenizer": byte_level}) == "gpt-2"
    digits = {"type": "Sequence", "pretokenizers": [{"type": "Digits", "individual_digits": True}, byte_level]}
    assert pre_tokenizer_name({"pre_tokenizer": digits}) == "smollm"
    from tokenizers import Regex, pre_tokenizers

    llama3 = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}"
              r"| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+")
    seq = pre_tokenizers.Sequence([pre_tokenizers.Split(Regex(llama3), behavior="isolated"),
                                   pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)])
    spec = json.loads(json.dumps({"pre_tokenizer": json.loads(seq.__getstate__())}))
    assert pre_tokenizer_name(spec) == "llama-bpe"
    with pytest.raises(UserError, match="--gguf-pre"):
        pre_tokenizer_name({"pre_tokenizer": {"type": "Whitespace"}})


def test_bad_inputs_fail_clearly(tiny_model_dir, tmp_path):
    from langadapt.config.export import ExportConfig

    with pytest.raises(ValueError, match="merged weights"):
        ExportConfig(format="gguf", merge=False)
    with pytest.raises(UserError, match="GGUF type"):
        write_gguf(tiny_model_dir, tmp_path / "x.gguf", "q2_k")
    with pytest.raises(UserError, match="config.json"):
        write_gguf(tmp_path, tmp_path / "x.gguf", "f32")
    odd = tmp_path / "gpt2-like"
    shutil.copytree(tiny_model_dir, odd)
    cfg = json.loads((odd / "config.json").read_text())
    (odd / "config.json").write_text(json.dumps({**cfg, "architectures": ["GPT2LMHeadModel"]}))
    with pytest.raises(UserError, match="GGUF export handles"):
        write_gguf(odd, tmp_path / "x.gguf", "f32")
    assert not list(tmp_path.glob("*.gguf")) and not list(tmp_path.glob(".*tmp*"))


def test_cli_format_gguf(extended_tiny, tmp_path, capsys):
    from langadapt.cli.main import main

    out = tmp_path / "export"
    assert main(["export", "--model", str(extended_tiny), "--out", str(out), "--dtype", "fp32",
                 "--format", "gguf", "--gguf-type", "q8_0"]) == 0
    text = capsys.readouterr().out
    assert "gguf: " in text and "same token ids" in text
    record = json.loads((out / "langadapt_export.json").read_text())
    assert record["gguf"]["path"] == "export-q8_0.gguf" and record["gguf"]["pre_tokenizer"] == "gpt-2"
    assert record["gguf"]["verification"]["token_ids_equal"] is True
    assert (out / "export-q8_0.gguf").stat().st_size == record["gguf"]["bytes"]
    card = (out / "README.md").read_text(encoding="utf-8")  # the card names the file it ships beside the weights
    assert "### llama.cpp, Ollama, LM Studio" in card and "llama-cli -m export-q8_0.gguf -cnv" in card
    assert "`export-q8_0.gguf` (q8_0," in card and "pre-tokenizer `gpt-2`" in card


def test_tokenizer_without_known_split_rules_needs_gguf_pre(tiny_model_dir, tmp_path):
    odd = tmp_path / "odd"
    shutil.copytree(tiny_model_dir, odd)
    spec = json.loads((odd / "tokenizer.json").read_text())
    spec["pre_tokenizer"] = {"type": "Sequence", "pretokenizers": [{"type": "WhitespaceSplit"}, spec["pre_tokenizer"]]}
    (odd / "tokenizer.json").write_text(json.dumps(spec))
    with pytest.raises(UserError, match="--gguf-pre"):
        write_gguf(odd, tmp_path / "x.gguf", "f32")
    result = write_gguf(odd, tmp_path / "x.gguf", "f32", pre="gpt-2")
    assert _field(_reader(result.path), "tokenizer.ggml.pre") == "gpt-2"


# ---- SmolLM2 with an extended tokenizer: the demo's kind of export ----

@pytest.fixture(scope="module")
def smollm2_extended(smollm2_dir, tmp_path_factory) -> Path:
    return _extend(smollm2_dir, tmp_path_factory.mktemp("smollm2-ext"), 300)


@pytest.mark.integration
# q8_0 moves the argmax at a few near-tie positions of a 135M model (measured top-1 agreement 0.963).
@pytest.mark.parametrize("gguf_type, tolerance, top1", [("f16", 5e-3, 0.97), ("q8_0", 0.1, 0.95)])
def test_smollm2_extended_round_trip(gguf_type, tolerance, top1, smollm2_extended, check_texts, tmp_path):
    result = write_gguf(smollm2_extended, tmp_path / f"smollm2-{gguf_type}.gguf", gguf_type)
    got = _compare(smollm2_extended, result.path, check_texts)
    assert got["max_rel"] < tolerance and got["top1"] > top1, (got["max_rel"], got["top1"])
    # Greedy text is compared where the weights are not quantised: q8_0 SmolLM2 left the reference's
    # Chinese continuation at its 7th token (a near tie), which is quantisation, not a conversion error.
    for prompt in ("臺灣的首都是", "The capital of France is") if gguf_type != "q8_0" else ():
        assert _greedy(*got["gguf"], prompt, 12) == _greedy(*got["ref"], prompt, 12), prompt
    assert verify_gguf(result.path, smollm2_extended, MIXED, gguf_type)["token_ids_equal"]


# ---- real llama.cpp, when its tools are installed (no registry package ships a runnable binary) ----

LLAMA_TOKENIZE = os.environ.get("LANGADAPT_LLAMA_TOKENIZE") or shutil.which("llama-tokenize")


@pytest.mark.skipif(LLAMA_TOKENIZE is None, reason="llama.cpp's llama-tokenize is not installed (no registry package "
                                                   "ships a runnable binary; set LANGADAPT_LLAMA_TOKENIZE to one)")
def test_llama_cpp_tokenises_like_transformers(extended_tiny, tmp_path):
    from transformers import AutoTokenizer

    result = write_gguf(extended_tiny, tmp_path / "m-f32.gguf", "f32")
    tok = AutoTokenizer.from_pretrained(extended_tiny)
    for text in MIXED[:3]:
        proc = subprocess.run([LLAMA_TOKENIZE, "-m", str(result.path), "-p", text, "--ids", "--log-disable",
                               "--no-bos"], capture_output=True, text=True, timeout=120, check=True)
        ids = [int(x) for x in re.findall(r"\d+", proc.stdout.strip().splitlines()[-1])]
        assert ids == tok(text, add_special_tokens=False).input_ids, text
