"""Instruction data for training: conversations (read by `langadapt.data.sft_records`) rendered with a
chat template, with loss only on the assistant's tokens (every assistant turn of a multi-turn conversation).

    convs = load_conversations("data.jsonl")          # langadapt.data.sft_records
    examples = [encode(tokenizer, c, template, max_len=1024) for c in convs]

The assistant spans come from rendering the conversation turn by turn: the text added by each
assistant turn (after the generation prompt) is what the model learns to produce, including its
end-of-turn token. Character spans map to tokens through the fast tokenizer's offsets.
"""

from __future__ import annotations

from typing import Iterable

from langadapt.errors import UserError

IGNORE = -100

NAMED_TEMPLATES = {
    "chatml": (
        "{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n' }}"
        "{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
    ),
    "alpaca": (
        "{% for message in messages %}{% if message['role'] == 'system' %}{{ message['content'] + '\n\n' }}"
        "{% elif message['role'] == 'user' %}{{ '### Instruction:\n' + message['content'] + '\n\n' }}"
        "{% else %}{{ '### Response:\n' + message['content'] + eos_token + '\n\n' }}{% endif %}{% endfor %}"
        "{% if add_generation_prompt %}{{ '### Response:\n' }}{% endif %}"
    ),
}

def resolve_template(tokenizer, template: str | None) -> str:
    if template:
        return NAMED_TEMPLATES.get(template, template)
    if getattr(tokenizer, "chat_template", None):
        return tokenizer.chat_template
    return NAMED_TEMPLATES["chatml"]


def _render(tokenizer, msgs: list[dict], template: str, gen: bool) -> str:
    return tokenizer.apply_chat_template(msgs, chat_template=template, tokenize=False, add_generation_prompt=gen)


def assistant_spans(tokenizer, msgs: list[dict], template: str) -> tuple[str, list[tuple[int, int]]]:
    """The rendered conversation and the character spans written by assistant turns."""
    full = _render(tokenizer, msgs, template, gen=False)
    spans = []
    for i, m in enumerate(msgs):
        if m["role"] != "assistant":
            continue
        before = _render(tokenizer, msgs[:i], template, gen=True) if i else ""
        upto = _render(tokenizer, msgs[: i + 1], template, gen=False)
        if not full.startswith(upto) or not upto.startswith(before):
            raise UserError("the chat template does not render conversations turn by turn (a prefix changes when a "
                            "turn is added), so assistant tokens cannot be located; pass sft.chat_template=chatml")
        spans.append((len(before), len(upto)))
    return full, spans


def encode(tokenizer, msgs: list[dict], template: str, max_len: int) -> dict | None:
    """Token ids and labels (-100 outside assistant turns), truncated to `max_len`; None if nothing to learn."""
    return encode_batch(tokenizer, [msgs], template, max_len)[0]


def encode_batch(tokenizer, convs: list[list[dict]], template: str, max_len: int) -> list[dict | None]:
    """`encode` of many conversations: rendered one by one, tokenized in one batch (spread over the CPU cores)."""
    if not getattr(tokenizer, "is_fast", False):
        raise UserError("SFT needs a fast tokenizer (offset mapping) to locate assistant tokens")
    rendered = [assistant_spans(tokenizer, msgs, template) for msgs in convs]
    if not rendered:
        return []
    enc = tokenizer([text for text, _ in rendered], add_special_tokens=False, return_offsets_mapping=True)
    out: list[dict | None] = []
    for (_, spans), all_ids, offsets in zip(rendered, enc["input_ids"], enc["offset_mapping"]):
        ids = all_ids[:max_len]
        labels = [IGNORE] * len(ids)
        for t, (start, end) in enumerate(offsets[: len(ids)]):
            if any(s <= start < e for s, e in spans) and end > start:
                labels[t] = ids[t]
        learnable = any(x != IGNORE for x in labels[1:])
        out.append({"input_ids": ids, "labels": labels, "position_ids": list(range(len(ids)))} if learnable else None)
    return out


def pack_examples(examples: Iterable[dict], max_len: int) -> list[dict]:
    """Whole conversations side by side in sequences of at most `max_len` (never split across sequences)."""
    seqs: list[dict] = []
    cur = {"input_ids": [], "labels": [], "position_ids": []}
    for ex in examples:
        if cur["input_ids"] and len(cur["input_ids"]) + len(ex["input_ids"]) > max_len:
            seqs.append(cur)
            cur = {"input_ids": [], "labels": [], "position_ids": []}
        for key in cur:
            cur[key] += ex[key]
    if cur["input_ids"]:
        seqs.append(cur)
    return seqs
