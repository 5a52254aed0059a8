"""A small OpenAI-compatible chat server for judge tests: deterministic verdicts, real HTTP on 127.0.0.1.

Models: `prefers-longer` picks the longer answer, `always-a` always picks the first position (a
maximally position-biased judge), `no-verdict` never gives one.
"""

from __future__ import annotations

import re

from _loopback import serve_app
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


def serve():
    """Run the app on a free port of 127.0.0.1; yields its base URL."""
    return serve_app(app)
