"""`langadapt serve --engine vllm` answers one chat request on 127.0.0.1. Run by bench/gpu_check.sh;
alone:

    python bench/gpu/vllm_serve.py

The server runs as its own process, as users start it; the check waits for /v1/models, asks one
question with the OpenAI wire format and stops the server by its process id.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time

from common import MODEL, need, run_check


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def check() -> dict:
    import httpx

    need("vllm", "pip install 'langadapt[vllm]'")
    port = _free_port()
    cmd = [sys.executable, "-m", "langadapt", "serve", MODEL, "--engine", "vllm", "--port", str(port),
           "--engine-arg", "gpu_memory_utilization=0.3", "--engine-arg", "max_model_len=2048"]
    server = subprocess.Popen(cmd, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        started = time.perf_counter()
        while time.perf_counter() - started < 240:
            if server.poll() is not None:
                raise RuntimeError(f"server exited {server.returncode} before answering")
            try:
                if httpx.get(f"{base}/v1/models", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(2)
        else:
            raise RuntimeError("server not ready after 240 s")
        ready_s = time.perf_counter() - started
        name = httpx.get(f"{base}/v1/models", timeout=5).json()["data"][0]["id"]
        t0 = time.perf_counter()
        reply = httpx.post(f"{base}/v1/chat/completions", timeout=60, json={
            "model": name, "messages": [{"role": "user", "content": "你好，請介紹一下台北。"}],
            "max_tokens": 32, "temperature": 0}).json()
        text = reply["choices"][0]["message"]["content"]
        return {"status": "ok" if text.strip() else "fail", "ready_s": round(ready_s, 1),
                "request_s": round(time.perf_counter() - t0, 3),
                "completion_tokens": reply.get("usage", {}).get("completion_tokens"), "reply": text[:40]}
    finally:
        if server.poll() is None:
            os.killpg(server.pid, signal.SIGTERM)
            try:
                server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(server.pid, signal.SIGKILL)


if __name__ == "__main__":
    run_check("vllm_serve", check)
