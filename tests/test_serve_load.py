"""Load and faults on loopback: 200 requests at 16 concurrent, bad requests mixed in, killed clients."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import textwrap
import time

import httpx
import pytest

openai = pytest.importorskip("openai")


@pytest.fixture(scope="module")
def server(tiny_model_dir):
    from langadapt.config.generation import GenerationConfig
    from langadapt.serve.api import create_app
    from langadapt.serve.loading import start_engine
    from langadapt.serve.server import serve_in_thread

    engine = start_engine(str(tiny_model_dir), max_batch_size=16)
    srv = serve_in_thread(create_app(engine, ["tiny"], GenerationConfig(max_new_tokens=8)))
    yield srv, engine
    srv.stop()
    engine.shutdown()


def _wait_idle(engine, timeout=15.0) -> int:
    deadline = time.monotonic() + timeout
    while engine.num_active and time.monotonic() < deadline:
        time.sleep(0.05)
    return engine.num_active


def test_200_requests_at_16_concurrent_with_bad_ones_mixed_in(server):
    srv, engine = server
    client = openai.AsyncOpenAI(base_url=srv.url + "/v1", api_key="x", max_retries=0, timeout=120)

    async def one(i: int):
        try:
            if i % 10 == 3:  # bad: over the context length
                await client.completions.create(model="tiny", prompt="x", max_tokens=10**6)
            elif i % 10 == 7:  # bad: unknown model
                await client.chat.completions.create(model="other", messages=[{"role": "user", "content": "hi"}])
            elif i % 2:
                r = await client.completions.create(model="tiny", prompt=f"Request {i}", max_tokens=4, seed=i)
                return ("ok", r.choices[0].finish_reason)
            else:
                stream = await client.chat.completions.create(
                    model="tiny", messages=[{"role": "user", "content": f"Request {i}"}], max_tokens=4, stream=True)
                finish = [c.choices[0].finish_reason async for c in stream if c.choices][-1]
                return ("ok", finish)
        except openai.APIStatusError as exc:
            return ("bad", exc.status_code)
        return ("bad-accepted", None)

    async def run():
        gate = asyncio.Semaphore(16)

        async def guarded(i):
            async with gate:
                return await one(i)

        return await asyncio.gather(*(guarded(i) for i in range(200)), return_exceptions=True)

    start = time.monotonic()
    results = asyncio.run(run())
    errors = [r for r in results if isinstance(r, BaseException)]
    assert not errors, errors[:3]
    good = [r for r in results if r[0] == "ok"]
    bad = [r for r in results if r[0] == "bad"]
    assert len(good) == 160 and all(f in ("length", "stop") for _, f in good)
    assert len(bad) == 40 and {code for _, code in bad} == {400, 404}
    assert time.monotonic() - start < 120
    assert _wait_idle(engine) == 0
    assert httpx.get(srv.url + "/health").json()["status"] == "ok"


CLIENT = textwrap.dedent("""
    import sys, httpx
    body = {"model": "tiny", "prompt": "Go on", "max_tokens": 1900, "stream": STREAM}
    with httpx.Client(timeout=120) as c:
        if STREAM:
            with c.stream("POST", sys.argv[1] + "/v1/completions", json=body) as r:
                for line in r.iter_lines():
                    if line.startswith("data:"):
                        print("started", flush=True)
                        break
                sys.stdin.read()
        else:
            print("started", flush=True)
            c.post(sys.argv[1] + "/v1/completions", json=body)
""")


@pytest.mark.parametrize("stream", [True, False])
def test_killed_client_does_not_leak_work(server, stream):
    srv, engine = server
    assert _wait_idle(engine) == 0
    code = CLIENT.replace("STREAM", str(stream))
    proc = subprocess.Popen([sys.executable, "-c", code, srv.url], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            text=True)
    try:
        assert proc.stdout.readline().strip() == "started"
        deadline = time.monotonic() + 30
        while engine.num_active == 0 and time.monotonic() < deadline:
            time.sleep(0.02)
        assert engine.num_active == 1
        steps = engine.steps
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait(10)
    assert _wait_idle(engine) == 0
    # Cancelled well before the 1900 tokens it asked for.
    assert engine.steps - steps < 1500
    r = httpx.post(srv.url + "/v1/completions", json={"model": "tiny", "prompt": "still there?", "max_tokens": 2})
    assert r.status_code == 200
