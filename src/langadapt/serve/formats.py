"""OpenAI response bodies and SSE chunks for `langadapt.serve.api` (chat and legacy completions)."""

from __future__ import annotations

import asyncio
import time
from typing import Any, AsyncIterator, Callable, Sequence

from langadapt.serve.engine import TokenLogprob


def split_prompts(prompt: Any) -> list:
    """`prompt` may be a string, a list of strings, one list of token ids or a list of them."""
    if isinstance(prompt, str):
        return [prompt]
    if not prompt:
        return []
    if all(isinstance(p, int) for p in prompt):
        return [list(prompt)]
    return list(prompt)


def _tok(tokenizer, token_id: int) -> str:
    return tokenizer.decode([token_id], skip_special_tokens=False, clean_up_tokenization_spaces=False)


def completion_logprobs(tokenizer, token_ids: Sequence[int], entries: Sequence[TokenLogprob | None],
                        offset: int = 0) -> dict:
    """Legacy completions format; the first echoed prompt token has no log-probability (None)."""
    tokens = [_tok(tokenizer, t) for t in token_ids]
    offsets = []
    for text in tokens:
        offsets.append(offset)
        offset += len(text)
    return {
        "tokens": tokens,
        "token_logprobs": [e[1] if e else None for e in entries],
        "top_logprobs": [({_tok(tokenizer, i): lp for i, lp in e[2]} if e else None) for e in entries],
        "text_offset": offsets,
    }


def chat_logprobs(tokenizer, entries: Sequence[TokenLogprob]) -> dict:
    def item(token_id: int, lp: float) -> dict:
        text = _tok(tokenizer, token_id)
        return {"token": text, "logprob": lp, "bytes": list(text.encode("utf-8"))}

    return {"content": [{**item(t, lp), "top_logprobs": [item(i, v) for i, v in tops]} for t, lp, tops in entries]}


def chat_response(rid: str, model: str, choices: list, tokenizer, usage: dict) -> dict:
    return {
        "id": rid, "object": "chat.completion", "created": int(time.time()), "model": model,
        "choices": [{
            "index": i,
            "message": {"role": "assistant", "content": c.text},
            "logprobs": chat_logprobs(tokenizer, c.logprobs) if c.logprobs else None,
            "finish_reason": c.finish_reason,
        } for i, c in enumerate(choices)],
        "usage": usage,
    }


def completion_response(rid: str, model: str, choices: list, tokenizer, usage: dict) -> dict:
    return {
        "id": rid, "object": "text_completion", "created": int(time.time()), "model": model,
        "choices": [{
            "index": i, "text": c.text,
            "logprobs": completion_logprobs(tokenizer, c.token_ids, c.logprobs) if c.logprobs else None,
            "finish_reason": c.finish_reason,
        } for i, c in enumerate(choices)],
        "usage": usage,
    }


async def _merged(streams: list[AsyncIterator]) -> AsyncIterator[tuple[int, Any]]:
    """Interleave several async streams as (index, item); closing this cancels them all."""
    box: asyncio.Queue = asyncio.Queue()

    async def pump(i: int, stream: AsyncIterator) -> None:
        try:
            async for item in stream:
                await box.put((i, item))
            await box.put((i, StopAsyncIteration()))
        except Exception as exc:  # handed to the consumer, which re-raises it
            await box.put((i, exc))

    tasks = [asyncio.ensure_future(pump(i, s)) for i, s in enumerate(streams)]
    try:
        remaining = len(tasks)
        while remaining:
            i, item = await box.get()
            if isinstance(item, StopAsyncIteration):
                remaining -= 1
            elif isinstance(item, Exception):
                raise item
            else:
                yield i, item
    finally:
        for task in tasks:
            task.cancel()


def _usage(prompt: int, completion: int) -> dict:
    return {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}


async def chat_stream(rid: str, model: str, jobs: list, run_job: Callable, tokenizer,
                      include_usage: bool) -> AsyncIterator[dict]:
    job = jobs[0]
    created = int(time.time())

    def chunk(choices: list, usage: dict | None = None) -> dict:
        body = {"id": rid, "object": "chat.completion.chunk", "created": created, "model": model, "choices": choices}
        if include_usage:
            body["usage"] = usage
        return body

    for i in range(job.n):
        yield chunk([{"index": i, "delta": {"role": "assistant", "content": ""}, "logprobs": None, "finish_reason": None}])
    completion = 0
    async for i, out in _merged([run_job(job, i) for i in range(job.n)]):
        completion += len(out.token_ids)
        if not (out.text or out.finish_reason or out.logprobs):
            continue
        yield chunk([{
            "index": i, "delta": {"content": out.text} if out.text else {},
            "logprobs": chat_logprobs(tokenizer, out.logprobs) if out.logprobs else None,
            "finish_reason": out.finish_reason,
        }])
    if include_usage:
        yield chunk([], _usage(len(job.prompt_ids), completion))


async def completion_stream(rid: str, model: str, jobs: list, run_job: Callable, echo_prefix: Callable, tokenizer,
                            include_usage: bool) -> AsyncIterator[dict]:
    created = int(time.time())
    pairs = [(job, j) for job in jobs for j in range(job.n)]
    offsets = [0] * len(pairs)

    def chunk(choices: list, usage: dict | None = None) -> dict:
        body = {"id": rid, "object": "text_completion", "created": created, "model": model, "choices": choices}
        if include_usage:
            body["usage"] = usage
        return body

    def choice(i: int, text: str, token_ids: list[int], entries: list, finish: str | None, want: bool) -> dict:
        lps = completion_logprobs(tokenizer, token_ids, entries, offsets[i]) if want and token_ids else None
        offsets[i] += len(text)
        return {"index": i, "text": text, "logprobs": lps, "finish_reason": finish}

    for i, (job, _) in enumerate(pairs):
        if job.echo:
            prefix = await echo_prefix(job)
            yield chunk([choice(i, prefix.text, prefix.token_ids, prefix.logprobs, None, job.logprobs is not None)])
    completion = 0
    async for i, out in _merged([run_job(job, j) for job, j in pairs]):
        completion += len(out.token_ids)
        if out.text or out.finish_reason or out.logprobs:
            yield chunk([choice(i, out.text, out.token_ids, out.logprobs, out.finish_reason,
                                pairs[i][0].logprobs is not None)])
    if include_usage:
        yield chunk([], _usage(sum(len(job.prompt_ids) for job in jobs), completion))
