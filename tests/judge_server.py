"""A small OpenAI-compatible chat server for judge tests: deterministic verdicts, real HTTP on 127.0.0.1.

Models: `prefers-longer` picks the longer answer, `always-a` always picks the first position (a
maximally position-biased judge), `no-verdict` never gives one.
"""

from __future__ import annotations

import re
import socket
import threading
import time
from contextlib import contextmanager
from typing import Iterator

from fastapi import FastAPI

app = FastAPI()
REQUESTS: list[dict] = []


def _answer(text: str, which: str) -> str:
    m = re.search(rf"\[Assistant {which}'s answer\]\n(.*?)\n\[End of assistant {which}'s answer\]", text, re.S)
    return m.group(1) if m else ""


@app.post("/v1/chat/completions")
def chat(body: dict) -> dict:
    REQUESTS.append(body)
    prompt = body["messages"][-1]["content"]
    a, b = _answer(prompt, "A"), _answer(prompt, "B")
    if body["model"] == "prefers-longer":
        verdict = "A" if len(a) > len(b) else "B" if len(b) > len(a) else "C"
        text = f"A has {len(a)} characters, B has {len(b)}.\n[[{verdict}]]"
    elif body["model"] == "always-a":
        text = "The first answer is better.\n[[A]]"
    else:
        text = "I cannot decide."
    return {"id": "x", "object": "chat.completion", "created": 0, "model": body["model"],
            "choices": [{"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": text}}]}


@contextmanager
def serve() -> Iterator[str]:
    """Run the app on a free port of 127.0.0.1; yields its base URL."""
    import uvicorn

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.time() + 20
    while not server.started and time.time() < deadline:
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}/v1"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()
