"""Fault suite of the server: hostile bodies and headers against a live `langadapt serve` process.

    pytest tests/test_serve_fault.py -q -s     # -s prints the soak's latency figures

Hypothesis writes request bodies (known fields with junk values, NaN and huge numbers, lone
surrogates, deep nesting, raw bytes) and headers; every answer must be below 500 and, when an
error, the OpenAI error object, while a stream running beside them is unharmed and the server
stays up. The soak sends 200 requests at 16 concurrent, a third of them hostile.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import threading
import time

import httpx
import pytest

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

pytestmark = pytest.mark.fault

KEY = "fault-key"
AUTH = {"Authorization": f"Bearer {KEY}", "Content-Type": "application/json"}
BODY_LIMIT = 256 * 1024


@pytest.fixture(scope="module")
def live(tiny_model_dir):
    """`langadapt serve` on the tiny model, as a real process; yields its base URL."""
    from langadapt.serve.server import free_port

    port = free_port()
    cmd = [sys.executable, "-m", "langadapt", "serve", str(tiny_model_dir), "--port", str(port), "--api-key", KEY,
           "--served-model-name", "tiny", "--max-new-tokens", "8", "--max-body-bytes", str(BODY_LIMIT),
           "--max-batch-size", "16", "--log-level", "error"]
    proc = subprocess.Popen(cmd, env={**os.environ, "HF_HUB_OFFLINE": "1"}, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            assert proc.poll() is None, proc.stdout.read()
            try:
                if httpx.get(url + "/health", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "server did not come up"
            time.sleep(0.3)
        yield url, proc
    finally:
        proc.terminate()
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()


def _check_answer(r: httpx.Response) -> None:
    assert r.status_code < 500, (r.status_code, r.text[:500])
    if r.status_code >= 400:
        err = r.json()["error"]
        assert set(err) == {"message", "type", "param", "code"} and isinstance(err["message"], str)
    elif r.headers.get("content-type", "").startswith("text/event-stream"):
        assert r.text.rstrip().endswith("data: [DONE]"), r.text[-300:]


# ----- hypothesis strategies ------------------------------------------------------------------
_text = st.text(max_size=12) | st.text(alphabet=st.characters(categories=["Cs"]), min_size=1, max_size=2)  # lone surrogates
_scalar = (st.none() | st.booleans() | st.integers(min_value=-(10**30), max_value=10**30)
           | st.floats(allow_nan=True, allow_infinity=True) | _text)
_junk = st.recursive(_scalar, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_text, inner, max_size=3),
                     max_leaves=8)
_small = st.integers(min_value=-3, max_value=12)
_number = st.floats(allow_nan=True, allow_infinity=True) | st.floats(min_value=-3, max_value=3) | \
    st.sampled_from([0, 1e-300, 1e-45, 2**64, -0.0])
_message = st.fixed_dictionaries({"role": st.sampled_from(["user", "system", "assistant", "tool", "bot"]) | _text,
                                  "content": _text | st.lists(st.fixed_dictionaries({"type": st.just("text"),
                                                                                     "text": _text}), max_size=2)})
_fields = {
    "model": st.sampled_from(["tiny", "tiny", "other"]) | _junk,
    "prompt": _text | st.lists(_text, max_size=3) | st.lists(st.integers(-5, 60000), max_size=6) | _junk,
    "messages": st.lists(_message, max_size=3) | _junk,
    "tokens": st.lists(st.integers(-5, 60000), max_size=6) | _junk,
    "max_tokens": _small | st.integers() | _junk,
    "temperature": _number, "top_p": _number, "top_k": _small | st.integers(), "typical_p": _number,
    "repetition_penalty": _number, "presence_penalty": _number, "frequency_penalty": _number,
    "n": st.integers(-1, 20), "seed": st.integers() | st.sampled_from([2**63, 2**64, -(2**63) - 1]),
    "stop": _text | st.lists(_text, max_size=20) | _junk, "stream": st.booleans() | _junk,
    "stream_options": st.fixed_dictionaries({"include_usage": st.booleans()}) | _junk,
    "logprobs": st.booleans() | _small | _junk, "top_logprobs": _small, "echo": st.booleans() | _junk,
    "begin_suppress_tokens": st.lists(st.integers(-5, 60000), max_size=3) | _junk,
    "no_repeat_ngram_size": _small | st.integers(), "tools": _junk, "tool_choice": _junk,
    "response_format": _junk, "logit_bias": _junk, "best_of": _small, "suffix": _junk, "user": _junk,
}


@st.composite
def _request(draw):
    path = draw(st.sampled_from(["/v1/completions", "/v1/chat/completions", "/tokenize", "/detokenize",
                                 "/v1/completions", "/v1/chat/completions", "/v1/models", "/nowhere"]))
    names = draw(st.lists(st.sampled_from(sorted(_fields)), max_size=7, unique=True))
    body = {name: draw(_fields[name]) for name in ["model", *names]}
    kind = draw(st.sampled_from(["json", "json", "json", "bytes", "array"]))
    if kind == "bytes":
        raw = draw(st.binary(max_size=64))
    else:
        raw = json.dumps([body] if kind == "array" else body, allow_nan=True).encode()
    headers = dict(AUTH)
    headers["Content-Type"] = draw(st.sampled_from(["application/json", "application/json; charset=utf-8",
                                                    "text/plain", "application/x-www-form-urlencoded", ""]))
    if draw(st.integers(0, 5)) == 0:
        headers["Authorization"] = draw(st.sampled_from(["", "Bearer wrong", f"Basic {KEY}"]))
    if draw(st.integers(0, 7)) == 0:
        headers["Host"] = draw(st.sampled_from(["evil.example", "127.0.0.1.nip.io:80", "localhost", "[::1]:9"]))
    printable = st.text(alphabet=st.characters(min_codepoint=33, max_codepoint=126), max_size=16)
    for _ in range(draw(st.integers(0, 2))):
        headers["X-" + draw(printable.filter(str.isalnum))] = draw(printable)
    method = "GET" if path == "/v1/models" else draw(st.sampled_from(["POST", "POST", "POST", "PUT", "GET"]))
    return method, path, raw, headers


def _stream_beside(url: str, stop: threading.Event, results: list) -> None:
    """Greedy streams back to back while the fuzz runs; each must finish cleanly with the same text."""
    body = {"model": "tiny", "prompt": "A steady stream", "max_tokens": 48, "temperature": 0, "stream": True}
    with httpx.Client(timeout=120) as client:
        while not stop.is_set():
            with client.stream("POST", url + "/v1/completions", json=body, headers=AUTH) as r:
                events = [line[6:] for line in r.iter_lines() if line.startswith("data: ")]
            chunks = [json.loads(e) for e in events[:-1]]
            results.append((r.status_code, events[-1], "".join(c["choices"][0]["text"] for c in chunks),
                            chunks[-1]["choices"][0]["finish_reason"] if chunks and chunks[-1].get("choices") else None,
                            any("error" in c for c in chunks)))


def test_fuzzed_requests_never_get_5xx_and_leave_a_stream_unharmed(live):
    url, proc = live
    stop, streams = threading.Event(), []
    beside = threading.Thread(target=_stream_beside, args=(url, stop, streams), daemon=True)
    beside.start()
    tried = []

    @settings(max_examples=120, deadline=None, database=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
    @given(_request())
    def one(request):
        method, path, raw, headers = request
        r = httpx.request(method, url + path, content=raw if method != "GET" else None, headers=headers, timeout=60)
        tried.append(r.status_code)
        _check_answer(r)

    try:
        one()
    finally:
        stop.set()
        beside.join(120)
    assert proc.poll() is None and httpx.get(url + "/health").json()["status"] == "ok"
    assert len(streams) >= 2, "the stream beside the fuzz did not run"
    assert {s[:2] for s in streams} == {(200, "[DONE]")}
    assert {s[2] for s in streams} == {streams[0][2]} and streams[0][2]  # greedy: the same text every time
    assert {s[3] for s in streams} <= {"length", "stop"} and not any(s[4] for s in streams)
    print(f"\nfuzz: {len(tried)} requests, statuses {sorted(set(tried))}, {len(streams)} streams beside unharmed")


# ----- soak ----------------------------------------------------------------------------------
def _hostile(i: int) -> tuple[str, bytes, dict]:
    """(path, body, headers) of one hostile request, cycling through the kinds of attack."""
    c, h = "/v1/completions", dict(AUTH)
    kinds = [
        (c, b'{"model": "tiny", "prompt": "x", "temperature": 1e-300, "repetition_penalty": 1e-300}', h),
        (c, b'{"model": "tiny", "prompt": "x", "max_tokens": ' + b"7" * 5000 + b"}", h),
        (c, b"[" * 100_000, h),
        ("/v1/chat/completions", b'{"model": "tiny", "messages": [{"role": "user", "content": "\\ud800"}]}', h),
        (c, b'{"model": "tiny", "prompt": "x", "seed": 18446744073709551616}', h),
        (c, b'{"model": "tiny", "prompt": "x"}', {**h, "Content-Type": "text/plain"}),
        (c, b'{"model": "tiny", "prompt": "x"}', {**h, "Host": "rebind.example"}),
        (c, b'{"model": "tiny", "prompt": "' + b"y" * (BODY_LIMIT + 10) + b'"}', h),
        (c, json.dumps({"model": "tiny", "prompt": ["a"] * 10, "n": 16}).encode(), h),
        ("/v1/chat/completions", json.dumps({"model": "tiny", "messages": [{"role": "user", "content": "hi"}],
                                             "tools": [{"type": "function"}]}).encode(), h),
        (c, b'{"model": "tiny", "prompt": "x", "top_p": NaN}', h),
        (c, b'{"model": "tiny", "prompt": "x"}', {**h, "Authorization": "Bearer nope"}),
    ]
    return kinds[i % len(kinds)]


@pytest.mark.slow
def test_soak_200_requests_16_concurrent_a_third_hostile(live):
    url, proc = live

    async def good(client: httpx.AsyncClient, i: int) -> tuple[str, int, float]:
        start = time.perf_counter()
        if i % 2:
            r = await client.post(url + "/v1/completions", headers=AUTH,
                                  json={"model": "tiny", "prompt": f"Request {i}", "max_tokens": 8, "seed": i})
            ok = r.status_code == 200 and r.json()["choices"][0]["finish_reason"] in ("length", "stop")
        else:
            body = {"model": "tiny", "messages": [{"role": "user", "content": f"Request {i}"}], "max_tokens": 8,
                    "stream": True}
            async with client.stream("POST", url + "/v1/chat/completions", headers=AUTH, json=body) as r:
                lines = [line async for line in r.aiter_lines() if line.startswith("data: ")]
            ok = r.status_code == 200 and lines[-1] == "data: [DONE]" and '"finish_reason": "error"' not in "".join(lines)
        return ("good" if ok else "good-failed", r.status_code, time.perf_counter() - start)

    async def bad(client: httpx.AsyncClient, i: int) -> tuple[str, int, float]:
        path, raw, headers = _hostile(i)
        r = await client.post(url + path, content=raw, headers=headers)
        _check_answer(r)
        return ("refused" if 400 <= r.status_code < 500 else "bad-accepted", r.status_code, 0.0)

    async def run():
        gate = asyncio.Semaphore(16)
        async with httpx.AsyncClient(timeout=120, limits=httpx.Limits(max_connections=32)) as client:
            async def one(i):
                async with gate:
                    return await (bad(client, i // 3) if i % 3 == 0 else good(client, i))

            return await asyncio.gather(*(one(i) for i in range(200)))

    start = time.monotonic()
    results = asyncio.run(run())
    wall = time.monotonic() - start
    statuses = sorted({code for _, code, _ in results})
    assert all(code < 500 for code in statuses), statuses
    hostile = [r for r in results if r[0] in ("refused", "bad-accepted")]
    goods = sorted(t for kind, _, t in results if kind == "good")
    assert len(hostile) == 67 and all(kind == "refused" for kind, _, _ in hostile)
    assert len(goods) == 133, [r for r in results if r[0] == "good-failed"][:3]
    p50, p99 = goods[len(goods) // 2], goods[min(len(goods) - 1, int(len(goods) * 0.99))]
    print(f"\nsoak: 200 requests (67 hostile, all 4xx; 133 good, all 200) at 16 concurrent in {wall:.1f} s; "
          f"good latency p50 {p50 * 1000:.0f} ms, p99 {p99 * 1000:.0f} ms; statuses {statuses}")
    assert proc.poll() is None and httpx.get(url + "/health").json()["status"] == "ok"
