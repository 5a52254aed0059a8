"""Serving throughput vs concurrency: completion tokens/s at concurrency 1, 4 and 16, as a ratio to 1.

    .venv/bin/python bench/bench_serve.py [--model smollm2-135m-instruct] [--max-tokens 64] [--requests 2]

Starts `langadapt serve`'s app on 127.0.0.1 in this process, sends chat requests with the `openai`
client (greedy, fixed max_tokens, ignoring the end token is not possible through the API, so the
prompts ask for long answers and tokens are counted from `usage`), and prints one row per level.
The concurrency-1 run is the baseline of the same run.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import time

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

TOPICS = ["the history of tea", "how rivers shape valleys", "why the sky is blue", "the life of bees",
          "how bread rises", "the first airplanes", "the water cycle", "how computers store numbers",
          "the moon's phases", "volcanoes", "the silk road", "how vaccines work", "coral reefs",
          "the printing press", "desert plants", "how magnets work"]


async def level(url: str, model: str, concurrency: int, requests: int, max_tokens: int) -> tuple[int, float]:
    import openai

    client = openai.AsyncOpenAI(base_url=url + "/v1", api_key="bench", max_retries=0, timeout=600)

    async def one(i: int) -> int:
        topic = TOPICS[i % len(TOPICS)]
        r = await client.chat.completions.create(
            model=model, max_tokens=max_tokens, temperature=0,
            messages=[{"role": "user", "content": f"Write a long, detailed essay about {topic}."}])
        return r.usage.completion_tokens

    total = concurrency * requests
    gate = asyncio.Semaphore(concurrency)

    async def guarded(i: int) -> int:
        async with gate:
            return await one(i)

    start = time.perf_counter()
    tokens = await asyncio.gather(*(guarded(i) for i in range(total)))
    return sum(tokens), time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="smollm2-135m-instruct")
    parser.add_argument("--max-tokens", type=int, default=64)
    parser.add_argument("--requests", type=int, default=2, help="Requests per concurrent client.")
    parser.add_argument("--levels", default="1,4,16")
    args = parser.parse_args()

    import torch

    from langadapt.config.generation import GenerationConfig
    from langadapt.serve.api import create_app
    from langadapt.serve.loading import start_engine
    from langadapt.serve.server import serve_in_thread

    levels = [int(x) for x in args.levels.split(",")]
    engine = start_engine(args.model, max_batch_size=max(levels))
    srv = serve_in_thread(create_app(engine, [args.model], GenerationConfig()))
    print(f"model {args.model} | device {engine.device} | torch threads {torch.get_num_threads()} | "
          f"max_tokens {args.max_tokens} | {args.requests} request(s) per client")
    asyncio.run(level(srv.url, args.model, 1, 1, 4))  # warm-up
    base = None
    print(f"{'concurrency':>11} {'requests':>8} {'tokens':>7} {'seconds':>8} {'tok/s':>8} {'ratio':>6}")
    for conc in levels:
        tokens, seconds = asyncio.run(level(srv.url, args.model, conc, args.requests, args.max_tokens))
        rate = tokens / seconds
        base = base or rate
        print(f"{conc:>11} {conc * args.requests:>8} {tokens:>7} {seconds:>8.1f} {rate:>8.1f} {rate / base:>5.2f}x",
              flush=True)
    srv.stop()
    engine.shutdown()


if __name__ == "__main__":
    main()
