"""The data client against real loopback servers: bad replies are retried and never cached, and the
API key reaches only the endpoint it was given for."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from _loopback import serve_app
from fastapi import FastAPI, Request
from fastapi.responses import Response

from langadapt.data.llm_client import LLMClient, RequestFailed, ResponseCache, reply_text, resolve_api_key, BadReply
from langadapt.data.quality import QualityCheck
from langadapt.data.translate import translate_file
from langadapt.errors import UserError

pytestmark = pytest.mark.fault


def _completion(content) -> bytes:
    return json.dumps({"id": "x", "object": "chat.completion", "model": "m",
                       "choices": [{"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": content}}]}).encode()


BAD_REPLIES = [
    b'{"id": "x", "choices": null}',
    b'{"choices": []}',
    b'{"error": {"message": "overloaded"}}',
    _completion([{"type": "image_url", "image_url": {"url": "x"}}]),
    b'{"choices": [{"index": 0}]}',
    _completion(None),
    _completion({"text": "an object"}),
    b"not json at all",
    b'{"choices": [{"message": {"content": "lone \\ud800 surrogate"}}]}',
    b"[1, 2, 3]",
]


class Scripted:
    """A chat-completions server whose reply bodies come from `answer(n, body)`; logs headers and bodies."""

    def __init__(self, answer) -> None:
        self.answer, self.log = answer, []
        self._lock = threading.Lock()
        self.app = FastAPI()
        self.app.post("/v1/chat/completions")(self._chat)

    async def _chat(self, request: Request):
        body = await request.json()
        with self._lock:
            n = len(self.log)
            self.log.append({"body": body, "authorization": request.headers.get("authorization")})
        status, content, headers = self.answer(n, body)
        return Response(content, status_code=status, media_type="application/json", headers=headers)


def _prompt(text: str) -> list[dict]:
    return [{"role": "user", "content": text}]


def test_reply_text_accepts_text_parts_and_refuses_the_rest():
    assert reply_text(json.loads(_completion("plain"))) == "plain"
    assert reply_text(json.loads(_completion([{"type": "text", "text": "a"}, {"type": "text", "text": "b"}]))) == "ab"
    assert reply_text(json.loads(_completion(""))) == ""
    for raw in BAD_REPLIES:
        try:
            body = json.loads(raw)
        except ValueError:
            continue  # the client itself turns a non-JSON body into a bad reply
        with pytest.raises(BadReply):
            reply_text(body)


def test_bad_replies_are_retried_then_good_one_cached(tmp_path):
    # Prompt "good" gets every kind of bad reply once, then a good one; prompt "never" only bad ones.
    counts: dict[str, int] = {}

    def answer(n, body):
        text = body["messages"][0]["content"]
        i = counts[text] = counts.get(text, -1) + 1
        if text == "good" and i >= len(BAD_REPLIES):
            return 200, _completion([{"type": "text", "text": "hello"}, {"type": "text", "text": " world"}]), {}
        return 200, BAD_REPLIES[i % len(BAD_REPLIES)], {}

    server = Scripted(answer)
    cache = tmp_path / "cache.jsonl"
    with serve_app(server.app) as url:
        client = LLMClient(url, "m", cache_path=cache, concurrency=2, max_retries=len(BAD_REPLIES), backoff=0.0)
        good, never = client.complete_many([_prompt("good"), _prompt("never")], progress=False)
        client.close()
    assert good == "hello world"
    assert isinstance(never, RequestFailed) and "bad reply" in never.error
    assert client.stats.bad_replies == 2 * len(BAD_REPLIES) + 1 and client.stats.failures == 1
    assert client.stats.errors == {"bad reply": 1}
    rows = [json.loads(line) for line in cache.read_text(encoding="utf-8").splitlines()]
    assert [r["reply"] for r in rows] == ["hello world"]  # no bad reply was ever written

    # Next run against a healthy server: only the failed prompt is sent again.
    healthy = Scripted(lambda n, body: (200, _completion("fixed"), {}))
    with serve_app(healthy.app) as url:
        client = LLMClient(url, "m", cache_path=cache, backoff=0.0)
        assert client.complete_many([_prompt("good"), _prompt("never")], progress=False) == ["hello world", "fixed"]
        client.close()
    assert [e["body"]["messages"][0]["content"] for e in healthy.log] == ["never"]


def test_damaged_cache_lines_are_skipped_not_fatal(tmp_path):
    cache = tmp_path / "cache.jsonl"
    good = {"key": ResponseCache.key("m", _prompt("a"), {}), "model": "m", "reply": "from cache"}
    cache.write_text('{"key": "k1", "reply": null}\nnot json\n' + json.dumps(good) + '\n[1]\n{"key": "x"', encoding="utf-8")
    loaded = ResponseCache(cache)
    assert loaded.entries == {good["key"]: "from cache"}
    loaded.close()


def test_translate_run_survives_bad_replies(tmp_path):
    def answer(n, body):
        text = body["messages"][-1]["content"]
        if "BROKEN" in text:
            return 200, b'{"choices": null}', {}
        if "LISTY" in text:
            return 200, _completion([{"type": "text", "text": "清單"}, {"type": "text", "text": "內容"}]), {}
        return 200, _completion("這是翻譯好的句子。"), {}

    src = tmp_path / "in.jsonl"
    rows = [{"instruction": "Say hello to the reader.", "output": "Hello there, reader."},
            {"instruction": "This one is BROKEN upstream.", "output": "It never comes back."},
            {"instruction": "A LISTY reply arrives in parts.", "output": "Parts are joined."}]
    src.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    server = Scripted(answer)
    with serve_app(server.app) as url:
        result = translate_file(src, tmp_path / "out", url, "m", "Traditional Chinese", max_retries=2, progress=False,
                                quality=QualityCheck(script="Han", min_script_share=0.0, min_length_ratio=0.0))
    assert result["counts"]["records_in"] == 3 and result["counts"]["records_kept"] == 2
    rejects = [json.loads(x) for x in (tmp_path / "out" / "rejects.jsonl").read_text(encoding="utf-8").splitlines()]
    assert [(r["ordinal"], r["reason"]) for r in rejects] == [(1, "request_failed")]
    assert "bad reply" in rejects[0]["detail"] and "null" in rejects[0]["detail"]
    cached = [json.loads(x)["reply"] for x in (tmp_path / "out" / "cache.jsonl").read_text(encoding="utf-8").splitlines()]
    assert "清單內容" in cached and all(isinstance(c, str) for c in cached)
    assert len(cached) == 5  # 2 fields of each good record + the BROKEN record's good second field


def test_resolve_api_key_scopes_openai_key_to_openai():
    env = {"OPENAI_API_KEY": "sk-openai"}
    assert resolve_api_key("http://127.0.0.1:8000/v1", environ=env)[0] is None
    assert resolve_api_key("https://example.com/v1", environ=env)[0] is None
    assert resolve_api_key("http://api.openai.com/v1", environ=env)[0] is None  # not over plain http either
    assert resolve_api_key("https://api.openai.com/v1", environ=env) == ("sk-openai", "OPENAI_API_KEY")
    env["LANGADAPT_DATA_API_KEY"] = "la-key"
    assert resolve_api_key("https://example.com/v1", environ=env) == ("la-key", "LANGADAPT_DATA_API_KEY")
    assert resolve_api_key("https://example.com/v1", api_key="flag", environ=env) == ("flag", "--api-key")
    env["MY_KEY"] = "mine"
    assert resolve_api_key("https://example.com/v1", api_key_env="MY_KEY", environ=env) == ("mine", "MY_KEY")
    assert resolve_api_key("https://example.com/v1", api_key_env="UNSET_VAR", environ=env)[0] is None


def test_key_refused_over_plain_http_to_another_host(tmp_path):
    with pytest.raises(UserError, match="plain http to example.com"):
        LLMClient("http://example.com/v1", "m", api_key="secret")
    with pytest.raises(UserError, match="must not hold credentials"):
        LLMClient("https://user:pw@example.com/v1", "m")
    LLMClient("http://example.com/v1", "m")  # no key: nothing to leak
    LLMClient("https://example.com/v1", "m", api_key="secret")
    for local in ("http://127.0.0.1:1/v1", "http://localhost:1/v1", "http://[::1]:1/v1", "http://127.3.4.5:1/v1"):
        LLMClient(local, "m", api_key="secret")


def test_key_sent_to_its_endpoint_and_not_through_a_redirect():
    other = Scripted(lambda n, body: (200, _completion("elsewhere"), {}))
    with serve_app(other.app) as other_url:
        redirecting = Scripted(lambda n, body: (307, b"{}", {"Location": other_url + "/chat/completions"}))
        with serve_app(redirecting.app) as url:
            client = LLMClient(url, "m", api_key="secret-key", backoff=0.0)
            [reply] = client.complete_many([_prompt("hi")], progress=False)
    assert isinstance(reply, RequestFailed) and "HTTP 307" in reply.error
    assert [e["authorization"] for e in redirecting.log] == ["Bearer secret-key"]
    assert other.log == []  # the key never followed the redirect


def _cli_translate(tmp_path: Path, url: str, env_extra: dict, *flags: str) -> subprocess.CompletedProcess:
    src = tmp_path / "in.jsonl"
    src.write_text(json.dumps({"instruction": "Say hi.", "output": "Hi."}) + "\n", encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if k not in ("OPENAI_API_KEY", "LANGADAPT_DATA_API_KEY")}
    env.update(env_extra)
    out = tmp_path / f"out{len(list(tmp_path.iterdir()))}"
    return subprocess.run([sys.executable, "-m", "langadapt", "data", "translate", str(src), "--out", str(out),
                           "--base-url", url, "--model", "m", "--target-language", "Thai", "--script", "none",
                           "--quiet", *flags], env=env, capture_output=True, text=True, timeout=300)


def test_cli_sends_openai_key_nowhere_but_openai_and_data_key_to_its_endpoint(tmp_path):
    server = Scripted(lambda n, body: (200, _completion("สวัสดี"), {}))
    with serve_app(server.app) as url:
        run = _cli_translate(tmp_path, url, {"OPENAI_API_KEY": "sk-must-not-leak"})
        assert run.returncode == 0, run.stderr
        assert "only sent to https://api.openai.com" in run.stderr and "sk-must-not-leak" not in run.stderr + run.stdout
        assert [e["authorization"] for e in server.log] == [None, None]

        server.log.clear()
        run = _cli_translate(tmp_path, url, {"OPENAI_API_KEY": "sk-must-not-leak", "LANGADAPT_DATA_API_KEY": "la-key"})
        assert run.returncode == 0, run.stderr
        assert {e["authorization"] for e in server.log} == {"Bearer la-key"}

        server.log.clear()
        run = _cli_translate(tmp_path, url, {}, "--api-key", "flag-key")
        assert run.returncode == 0, run.stderr
        assert {e["authorization"] for e in server.log} == {"Bearer flag-key"}

    run = _cli_translate(tmp_path, "http://192.0.2.1:9/v1", {}, "--api-key", "flag-key")
    assert run.returncode != 0 and "refusing to send an API key over plain http" in run.stderr
    assert "flag-key" not in run.stderr


def test_synth_reads_compressed_documents(tmp_path):
    import gzip

    import zstandard

    from langadapt.data.synth import read_documents

    (tmp_path / "a.txt.gz").write_bytes(gzip.compress("第一段文字。\n\n第二段文字。\n".encode()))
    (tmp_path / "b.jsonl.zst").write_bytes(zstandard.ZstdCompressor().compress(b'{"text": "one"}\n{"text": "two"}\n'))
    assert read_documents(tmp_path / "a.txt.gz") == ["第一段文字。", "第二段文字。"]
    assert read_documents(tmp_path / "b.jsonl.zst") == ["one", "two"]
