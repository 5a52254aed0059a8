"""Write an extended SentencePiece `tokenizer.model` beside the extended tokenizer.json.

    from langadapt.tokenizer.extend_spm import extend_spm_file
    extend_spm_file("base/tokenizer.model", new_pieces, first_id, "out/tokenizer.model")

For metaspace tokenizers (Llama-2 family) that ship a SentencePiece model. The new pieces are
appended in the order they were learned, with scores below every base piece, so SentencePiece's BPE
(which merges the highest-scoring pair first) applies all base merges before any new one, and ids
match tokenizer.json. `spm_from_gguf` rebuilds a base model from a GGUF vocabulary.

SentencePiece merges any adjacent pair whose concatenation is a piece, whereas tokenizer.json lists
the exact merges; the two can therefore split some target text differently, both losslessly.
"""

from __future__ import annotations

import os
from pathlib import Path

from langadapt.errors import UserError, require


def _proto():
    require("google.protobuf", "spm", "writing an extended tokenizer.model")
    from sentencepiece import sentencepiece_model_pb2

    return sentencepiece_model_pb2


def extend_spm_bytes(data: bytes, new_pieces: list[str], first_id: int) -> bytes:
    pb = _proto()
    model = pb.ModelProto()
    model.ParseFromString(data)
    if len(model.pieces) != first_id:
        raise UserError(f"tokenizer.model has {len(model.pieces)} pieces but new ids start at {first_id}; "
                        "cannot keep ids aligned with tokenizer.json")
    existing = {p.piece for p in model.pieces}
    clash = existing.intersection(new_pieces)
    if clash:
        raise UserError(f"{len(clash)} new pieces already exist in tokenizer.model, e.g. {sorted(clash)[:3]}")
    floor = min(p.score for p in model.pieces) if model.pieces else 0.0
    for k, piece in enumerate(new_pieces):
        entry = model.pieces.add()
        entry.piece = piece
        entry.score = floor - 1.0 - k
        entry.type = pb.ModelProto.SentencePiece.NORMAL
    model.trainer_spec.vocab_size = len(model.pieces)
    return model.SerializeToString()


def extend_spm_file(base_model: str | os.PathLike, new_pieces: list[str], first_id: int,
                    out_path: str | os.PathLike) -> Path:
    out = Path(out_path)
    out.write_bytes(extend_spm_bytes(Path(base_model).read_bytes(), new_pieces, first_id))
    return out


def spm_from_gguf(gguf_path: str | os.PathLike) -> bytes:
    """A SentencePiece BPE model proto from the vocabulary of a Llama-2-style GGUF file."""
    import gguf

    pb = _proto()
    reader = gguf.GGUFReader(str(gguf_path))

    def values(key: str) -> list:
        field = reader.fields.get(key)
        if field is None:
            raise UserError(f"{gguf_path}: no {key} in this GGUF file")
        return [field.parts[i] for i in field.data]

    kind = bytes(values("tokenizer.ggml.model")[0]).decode() if "tokenizer.ggml.model" in reader.fields else ""
    if kind != "llama":
        raise UserError(f"{gguf_path}: tokenizer model is {kind!r}, not a SentencePiece ('llama') vocabulary")
    tokens = [bytes(p).decode("utf-8") for p in values("tokenizer.ggml.tokens")]
    scores = [float(p[0]) for p in values("tokenizer.ggml.scores")]
    types = [int(p[0]) for p in values("tokenizer.ggml.token_type")]
    model = pb.ModelProto()
    for tok, score, typ in zip(tokens, scores, types):
        entry = model.pieces.add()
        entry.piece, entry.score, entry.type = tok, score, typ
    spec = model.trainer_spec
    spec.model_type = pb.TrainerSpec.BPE
    spec.vocab_size = len(tokens)
    spec.byte_fallback = True
    spec.unk_id, spec.bos_id, spec.eos_id, spec.pad_id = 0, 1, 2, -1
    norm = model.normalizer_spec
    norm.name = "identity"
    norm.add_dummy_prefix = True
    norm.remove_extra_whitespaces = False
    norm.escape_whitespaces = True
    return model.SerializeToString()
