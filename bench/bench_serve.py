"""Serving throughput vs concurrency: completion tokens/s at concurrency 1, 4 and 16, as a ratio to 1.

    .venv/bin/python bench/bench_serve.py [--model smollm2-135m-instruct] [--max-tokens 64] [--requests 2]

Starts `langadapt serve`'s app on 127.0.0.1 in this process and sends greedy chat requests with the
`openai` client; the prompts ask for long essays so answers run to max_tokens, and tokens are
counted from `usage`. One row per level; the concurrency-1 run of the same run is the baseline.
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

    async with openai.AsyncOpenAI(base_url=url + "/v1", api_key="bench", max_retries=0, timeout=600) as client:
        return await _level(client, model, concurrency, requests, max_tokens)


async def _level(client, model: str, concurrency: int, requests: int, max_tokens: int) -> tuple[int, float]:
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
    cpu_base = None
    # tokens per CPU-second of this process is printed too: on a shared, busy machine wall-clock
    # rates swing with other load, while the work per token done here does not.
    print(f"{'concurrency':>11} {'requests':>8} {'tokens':>7} {'seconds':>8} {'tok/s':>8} {'ratio':>6} "
          f"{'tok/cpu-s':>9} {'ratio':>6}")
    for conc in levels:
        cpu = time.process_time()
        tokens, seconds = asyncio.run(level(srv.url, args.model, conc, args.requests, args.max_tokens))
        cpu = time.process_time() - cpu
        rate, cpu_rate = tokens / seconds, tokens / cpu
        base, cpu_base = base or rate, cpu_base or cpu_rate
        print(f"{conc:>11} {conc * args.requests:>8} {tokens:>7} {seconds:>8.1f} {rate:>8.1f} {rate / base:>5.2f}x "
              f"{cpu_rate:>9.1f} {cpu_rate / cpu_base:>5.2f}x", flush=True)
    srv.stop()
    engine.shutdown()


if __name__ == "__main__":
    main()
