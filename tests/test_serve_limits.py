"""Server limits and engine health through HTTP: 429 when the queue is full, 503 and an error event
when the engine stops, tokenising off the event loop, and the `--engine-arg` checks for vLLM."""

from __future__ import annotations

import json
import threading
import time

import httpx
import pytest

from langadapt.config.generation import GenerationConfig

JSON = {"Content-Type": "application/json"}


class _ThreadRecorder:
    """The real tokenizer, noting which thread calls it (the check that tokenising is off the loop)."""

    def __init__(self, tokenizer) -> None:
        self._tokenizer, self.threads = tokenizer, set()

    def __call__(self, *args, **kwargs):
        self.threads.add(threading.current_thread().name)
        return self._tokenizer(*args, **kwargs)

    def apply_chat_template(self, *args, **kwargs):
        self.threads.add(threading.current_thread().name)
        return self._tokenizer.apply_chat_template(*args, **kwargs)

    def __len__(self) -> int:
        return len(self._tokenizer)

    def __getattr__(self, name):
        return getattr(self._tokenizer, name)


@pytest.fixture()
def small_server(tiny_model_dir):
    """A server whose engine runs one request at a time and queues none."""
    from langadapt.serve.api import Limits, create_app
    from langadapt.serve.engine import Engine
    from langadapt.serve.loading import load_for_serving
    from langadapt.serve.server import serve_in_thread

    model, tokenizer = load_for_serving(str(tiny_model_dir))
    recorder = _ThreadRecorder(tokenizer)
    engine = Engine(model, recorder, max_batch_size=1).start()
    srv = serve_in_thread(create_app(engine, ["tiny"], GenerationConfig(max_new_tokens=8), limits=Limits(max_queue=0)))
    yield srv, engine, recorder
    srv.stop()
    engine.shutdown()


def _long_stream(url: str, started: threading.Event, events: list) -> None:
    body = {"model": "tiny", "prompt": "Go on and on", "max_tokens": 1900, "temperature": 0, "stream": True}
    with httpx.Client(timeout=120) as client:
        with client.stream("POST", url + "/v1/completions", json=body) as r:
            for line in r.iter_lines():
                if line.startswith("data: "):
                    events.append(line[6:])
                    started.set()


def _wait(predicate, timeout=60.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline
        time.sleep(0.02)


def test_full_queue_answers_429_then_a_dead_engine_503_and_the_stream_an_error_event(small_server):
    srv, engine, recorder = small_server
    started, events = threading.Event(), []
    stream = threading.Thread(target=_long_stream, args=(srv.url, started, events))
    stream.start()
    assert started.wait(60)
    _wait(lambda: engine.num_active == 1)
    r = httpx.post(srv.url + "/v1/completions", json={"model": "tiny", "prompt": "me too", "max_tokens": 2})
    assert r.status_code == 429 and r.json()["error"]["code"] == "queue_full"
    assert httpx.get(srv.url + "/health").status_code == 200
    engine.shutdown()  # the engine stops while a stream is running
    stream.join(60)
    assert events[-1] == "[DONE]"
    last = [json.loads(e) for e in events[:-1]]
    assert last[-1]["error"]["type"] == "server_error" and "shutting down" in last[-1]["error"]["message"]
    assert last[-2]["choices"][0]["finish_reason"] == "error"
    health = httpx.get(srv.url + "/health")
    assert health.status_code == 503 and health.json()["error"]["code"] == "engine_dead"
    r = httpx.post(srv.url + "/v1/completions", json={"model": "tiny", "prompt": "anyone?", "max_tokens": 2})
    assert r.status_code == 503 and r.json()["error"]["code"] == "engine_dead"
    # The tokenizer never ran on the event loop's thread.
    assert recorder.threads and not recorder.threads & {"langadapt-http", "MainThread"}, recorder.threads


def test_engine_args_are_checked_before_vllm(tmp_path):
    from langadapt.errors import UserError
    from langadapt.serve.vllm import engine_flags, vllm_command

    flags = engine_flags(["gpu_memory_utilization=0.8", "--enforce-eager", "max-model-len=4096"])
    assert flags == ["--gpu-memory-utilization", "0.8", "--enforce-eager", "--max-model-len", "4096"]
    cmd = vllm_command("/m", "127.0.0.1", 8000, None, ["m"], "bf16", flags)
    assert cmd[-5:] == flags and cmd[cmd.index("--dtype") + 1] == "bfloat16"
    for bad, words in [("port=1", "--port"), ("trust-remote-code", "refused"), ("a b=1", "KEY=VALUE"),
                       ("max-model-len=", "non-empty"), ("model=x", "MODEL")]:
        with pytest.raises(UserError, match=words):
            engine_flags([bad])


def test_serve_flags(tiny_model_dir):
    import subprocess
    import sys

    run = lambda *a: subprocess.run([sys.executable, "-m", "langadapt", "serve", str(tiny_model_dir), *a],  # noqa: E731
                                    capture_output=True, text=True, timeout=120)
    r = run("--engine-arg", "enforce-eager")
    assert r.returncode != 0 and "--engine vllm" in r.stderr + r.stdout
    r = run("--max-queue", "-1")
    assert r.returncode == 2 and "0 or more" in r.stderr
    r = run("--engine", "vllm", "--engine-arg", "port=9")
    assert r.returncode != 0 and "--port" in r.stderr + r.stdout
