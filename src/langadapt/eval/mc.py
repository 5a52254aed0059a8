"""Multiple choice by log-likelihood: each choice is scored as a continuation of a few-shot prompt.

    from langadapt.eval.mc import score_multiple_choice
    scores = score_multiple_choice(model, tokenizer, task.items, few_shot=3)
    scores["accuracy"]   # choice with the highest log-likelihood per character

The model never has to produce a letter in a given format, so small and base models are scored
fairly. `accuracy` normalises each choice's log-likelihood by its length in characters (longer
choices are not penalised for having more tokens, and the figure does not depend on the
tokenizer); `accuracy_raw` uses the plain sum.
"""

from __future__ import annotations

from typing import Any, Sequence

from langadapt.eval.bpc import prefix_token_id
from langadapt.eval.packed import Window, window_nll


def format_question(item: dict[str, Any]) -> str:
    return f"Question: {item['question']}\nAnswer:"


def few_shot_prefix(items: Sequence[dict[str, Any]], index: int, shots: int) -> str:
    """Solved examples taken from the other items of the task (never the one being asked)."""
    others = [it for j, it in enumerate(items) if j != index][:shots]
    return "".join(f"{format_question(it)} {it['choices'][it['answer']]}\n\n" for it in others)


def continuation_nll(model: Any, tokenizer: Any, pairs: Sequence[tuple[str, str]], batch_size: int = 8,
                     max_length: int = 1024) -> list[float]:
    """Negative log-likelihood (nats) of each continuation given its context, batched.

    Prompts are packed several to a row and up to `batch_size` x `max_length` tokens share a pass.
    """
    prefix = prefix_token_id(tokenizer)
    # Each distinct context and continuation is tokenized once (a question's choices share it).
    contexts = {c: None for c, _ in pairs}
    conts = {c: None for _, c in pairs}
    ctx_ids = dict(zip(contexts, tokenizer(list(contexts), add_special_tokens=False)["input_ids"])) if pairs else {}
    cont_ids = dict(zip(conts, tokenizer(list(conts), add_special_tokens=False)["input_ids"])) if pairs else {}
    windows = []
    for i, (context, continuation) in enumerate(pairs):
        cont = cont_ids[continuation]
        ids = ([prefix] if prefix is not None else []) + ctx_ids[context] + cont
        # Long prompts lose their oldest few-shot text first; the continuation is always kept.
        ids = ids[-max_length:]
        windows.append(Window(i, ids, min(len(cont), len(ids) - 1)))
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else (prefix or 0)
    was_training = model.training
    model.eval()
    try:
        return window_nll(model, windows, pad_id, token_budget=batch_size * max_length, desc="choices")
    finally:
        model.train(was_training)


def score_multiple_choice(model: Any, tokenizer: Any, items: Sequence[dict[str, Any]], few_shot: int = 3,
                          batch_size: int = 8, max_length: int = 1024) -> dict[str, Any]:
    pairs, owners = [], []
    for i, item in enumerate(items):
        context = few_shot_prefix(items, i, few_shot) + format_question(item)
        for c, choice in enumerate(item["choices"]):
            pairs.append((context, " " + choice))
            owners.append((i, c))
    nll = continuation_nll(model, tokenizer, pairs, batch_size=batch_size, max_length=max_length)
    per_item: list[dict[str, Any]] = [{"raw": [], "norm": []} for _ in items]
    for (i, c), value in zip(owners, nll):
        per_item[i]["raw"].append(-value)
        per_item[i]["norm"].append(-value / max(1, len(items[i]["choices"][c])))
    predictions = []
    correct = correct_raw = 0
    for item, scores in zip(items, per_item):
        pick = max(range(len(scores["norm"])), key=scores["norm"].__getitem__)
        pick_raw = max(range(len(scores["raw"])), key=scores["raw"].__getitem__)
        correct += pick == item["answer"]
        correct_raw += pick_raw == item["answer"]
        predictions.append({"question": item["question"], "answer": item["answer"], "prediction": pick,
                            "loglik_per_char": [round(x, 4) for x in scores["norm"]]})
    n = len(items)
    return {
        "accuracy": 100 * correct / n if n else float("nan"),
        "accuracy_raw": 100 * correct_raw / n if n else float("nan"),
        "n": n,
        "predictions": predictions,
    }
