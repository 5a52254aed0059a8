"""Batched generation for evaluation: left padding, chat template for instruct models, stop strings.

    from langadapt.eval.generate import generate_answers
    answers = generate_answers(model, tokenizer, ["Translate ...", ...], GenerationConfig(temperature=0))

Greedy decoding (temperature 0) is the default for evaluation so scores are reproducible.
"""

from __future__ import annotations

from typing import Any, Sequence

from langadapt.config.generation import GenerationConfig


def item_prompt(item: dict[str, Any]) -> str:
    """The user message of a generation item: its instruction, then its input if any."""
    instruction, extra = item.get("instruction", "").strip(), str(item.get("input", "") or "").strip()
    return f"{instruction}\n\n{extra}" if instruction and extra else instruction or extra


def uses_chat_template(tokenizer: Any) -> bool:
    return bool(getattr(tokenizer, "chat_template", None))


def render_prompt(tokenizer: Any, prompt: str, chat: bool | None = None) -> str:
    if chat if chat is not None else uses_chat_template(tokenizer):
        return tokenizer.apply_chat_template([{"role": "user", "content": prompt}], tokenize=False,
                                             add_generation_prompt=True)
    return prompt


def cut_at_stop(text: str, stops: Sequence[str]) -> str:
    cut = min((i for i in (text.find(s) for s in stops if s) if i >= 0), default=len(text))
    return text[:cut]


def generate_answers(model: Any, tokenizer: Any, prompts: Sequence[str], gen: GenerationConfig,
                     batch_size: int = 8, chat: bool | None = None, max_prompt_tokens: int = 1536,
                     progress: bool = False) -> list[str]:
    import torch

    rendered = [render_prompt(tokenizer, p, chat) for p in prompts]
    # The chat template already writes any BOS it wants; a plain prompt gets one only if the tokenizer adds it.
    add_special = not (chat if chat is not None else uses_chat_template(tokenizer))
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
    if gen.seed is not None:
        torch.manual_seed(gen.seed)
    kwargs = gen.to_hf_kwargs()
    stops = [s for s in gen.stop if s]
    if stops:
        # Stop a batch once every row has passed a stop string instead of running to max_new_tokens:
        # the answer is cut at the first stop anyway (cut_at_stop), so the text is the same, sooner.
        kwargs.update(stop_strings=stops, tokenizer=tokenizer)
    device = next(model.parameters()).device
    # Similar lengths together: less padding; results are put back in the caller's order.
    order = sorted(range(len(rendered)), key=lambda i: len(rendered[i]))
    out: list[str] = [""] * len(rendered)
    starts: Any = range(0, len(order), batch_size)
    if progress:
        from tqdm.auto import tqdm

        starts = tqdm(starts, desc="generate", unit="batch", leave=False)
    was_training = model.training
    model.eval()
    try:
        for start in starts:
            idx = order[start:start + batch_size]
            encoded = [tokenizer(rendered[i], add_special_tokens=add_special)["input_ids"][-max_prompt_tokens:] for i in idx]
            width = max(len(e) for e in encoded)
            input_ids = torch.full((len(idx), width), pad_id, dtype=torch.long)
            mask = torch.zeros((len(idx), width), dtype=torch.long)
            for r, ids in enumerate(encoded):
                # Left padding: every prompt ends at the same column, where generation begins.
                input_ids[r, width - len(ids):] = torch.tensor(ids)
                mask[r, width - len(ids):] = 1
            with torch.inference_mode():
                generated = model.generate(input_ids=input_ids.to(device), attention_mask=mask.to(device),
                                           pad_token_id=pad_id, **kwargs)
            for r, i in enumerate(idx):
                text = tokenizer.decode(generated[r, width:], skip_special_tokens=True)
                out[i] = cut_at_stop(text, gen.stop).strip()
    finally:
        model.train(was_training)
    return out
