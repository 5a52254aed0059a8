"""`langadapt serve smollm2-135m-instruct` as a real process, asked by the `openai` client."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import httpx
import pytest

openai = pytest.importorskip("openai")


@pytest.mark.integration
def test_serve_smollm2_answers_in_english(smollm2_dir):
    from langadapt.serve.server import free_port

    port = free_port()
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "langadapt", "serve", "smollm2-135m-instruct", "--port", str(port),
                             "--api-key", "secret", "--log-level", "warning"], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 150
        while True:
            assert proc.poll() is None, proc.stdout.read()
            try:
                if httpx.get(url + "/health", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "server did not come up"
            time.sleep(0.5)
        client = openai.OpenAI(base_url=url + "/v1", api_key="secret", max_retries=0, timeout=120)
        question = [{"role": "user", "content": "What is the capital of France?"}]
        r = client.chat.completions.create(model="smollm2-135m-instruct", messages=question, max_tokens=24,
                                           temperature=0)
        answer = r.choices[0].message.content
        assert "Paris" in answer and answer[0].isupper(), answer
        assert r.usage.completion_tokens <= 24
        chunks = client.chat.completions.create(model="smollm2-135m-instruct", messages=question, max_tokens=24,
                                                temperature=0, stream=True)
        pieces = [c.choices[0].delta.content or "" for c in chunks if c.choices]
        assert sum(1 for p in pieces if p) > 3  # arrived token by token
        assert "".join(pieces) == answer
    finally:
        proc.terminate()
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
