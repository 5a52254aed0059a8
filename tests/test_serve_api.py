"""The OpenAI-compatible API through the official `openai` client (and raw HTTP for malformed input)."""

from __future__ import annotations

import httpx
import pytest

openai = pytest.importorskip("openai")

KEY = "test-key"


@pytest.fixture(scope="module")
def server(tiny_model_dir):
    from langadapt.config.generation import GenerationConfig
    from langadapt.serve.api import create_app
    from langadapt.serve.loading import start_engine
    from langadapt.serve.server import serve_in_thread

    engine = start_engine(str(tiny_model_dir), max_batch_size=8)
    app = create_app(engine, ["tiny"], GenerationConfig(max_new_tokens=16), api_key=KEY)
    srv = serve_in_thread(app)
    yield srv, engine
    srv.stop()
    engine.shutdown()


@pytest.fixture()
def client(server):
    return openai.OpenAI(base_url=server[0].url + "/v1", api_key=KEY, max_retries=0, timeout=60)


CHAT = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hello!"}]


def test_chat_completion(client):
    r = client.chat.completions.create(model="tiny", messages=CHAT, max_tokens=6, temperature=0)
    choice = r.choices[0]
    assert choice.message.role == "assistant" and choice.finish_reason in ("length", "stop")
    assert 1 <= r.usage.completion_tokens <= 6 and r.usage.prompt_tokens > 5
    assert r.usage.total_tokens == r.usage.prompt_tokens + r.usage.completion_tokens


def test_streaming_equals_non_streaming(client):
    args = dict(model="tiny", messages=CHAT, max_tokens=8, temperature=1.0, seed=3)
    whole = client.chat.completions.create(**args)
    full = whole.choices[0].message.content
    chunks = list(client.chat.completions.create(stream=True, stream_options={"include_usage": True}, **args))
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == full
    assert chunks[0].choices[0].delta.role == "assistant"
    assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] in ("length", "stop")
    assert chunks[-1].choices == [] and chunks[-1].usage.completion_tokens == whole.usage.completion_tokens


def test_n_choices_and_chat_logprobs(client):
    r = client.chat.completions.create(model="tiny", messages=CHAT, max_tokens=4, n=3, seed=1,
                                       logprobs=True, top_logprobs=2)
    assert [c.index for c in r.choices] == [0, 1, 2]
    assert len({c.message.content for c in r.choices}) > 1  # seeds differ per choice
    first = r.choices[0].logprobs.content[0]
    assert first.logprob <= 0 and len(first.top_logprobs) == 2


def test_completion_echo_scores_prompt(client, server):
    engine = server[1]
    prompt = "The cat sat on the mat"
    r = client.completions.create(model="tiny", prompt=prompt, max_tokens=0, echo=True, logprobs=1)
    lp = r.choices[0].logprobs
    assert r.choices[0].text == prompt
    ids = engine.tokenizer(prompt).input_ids
    assert lp.token_logprobs[0] is None and len(lp.token_logprobs) == len(ids)
    expected = engine.score(ids).result(timeout=30)
    assert lp.token_logprobs[1:] == pytest.approx([e[1] for e in expected], abs=1e-5)
    # lm-evaluation-harness style: echo, one generated token, token-id prompts in a batch.
    r = client.completions.create(model="tiny", prompt=[ids, ids[:3]], max_tokens=1, echo=True, logprobs=1,
                                  temperature=0)
    assert len(r.choices) == 2
    assert len(r.choices[0].logprobs.token_logprobs) == len(ids) + 1
    assert len(r.choices[1].logprobs.token_logprobs) == 4
    assert all(len(t) == 1 for t in r.choices[0].logprobs.top_logprobs[1:])


def test_completion_stream_and_stop(client):
    chunks = list(client.completions.create(model="tiny", prompt="Once", max_tokens=5, stream=True, n=2))
    assert {c.choices[0].index for c in chunks} == {0, 1}
    full = client.completions.create(model="tiny", prompt="Once", max_tokens=12, temperature=0).choices[0].text
    assert len(full) > 3
    stop = full[2:4]
    cut = client.completions.create(model="tiny", prompt="Once", max_tokens=12, temperature=0, stop=[stop])
    assert cut.choices[0].text == full[: full.index(stop)] and cut.choices[0].finish_reason == "stop"


def test_models_and_health(client, server):
    assert [m.id for m in client.models.list().data] == ["tiny"]
    health = httpx.get(server[0].url + "/health").json()
    assert health["status"] == "ok"


BAD = [
    (dict(max_tokens=0), 400, "at least 1"),
    (dict(max_tokens=-3), 400, "at least 1"),
    (dict(max_tokens=5000), 400, "maximum context length"),
    (dict(prompt="word " * 2100, max_tokens=None), 400, "maximum context length"),
    (dict(model="nope"), 404, "does not exist"),
    (dict(temperature=-1), 400, "temperature"),
    (dict(top_p=1.5), 400, "top_p"),
    (dict(n=0), 400, "n"),
    (dict(prompt=[[10, 99999999]]), 400, "token ids"),
]


@pytest.mark.parametrize("change,status,words", BAD)
def test_bad_requests_get_4xx(client, change, status, words):
    args = dict(model="tiny", prompt="hi", max_tokens=3)
    args.update({k: v for k, v in change.items() if v is not None})
    if change.get("max_tokens", 0) is None:
        args.pop("max_tokens")
    with pytest.raises(openai.APIStatusError) as info:
        client.completions.create(**args)
    assert info.value.status_code == status
    body = info.value.body
    assert words in body["message"] and body["type"]


def test_malformed_json_auth_and_chat_errors(server, client):
    url = server[0].url
    auth = {"Authorization": f"Bearer {KEY}"}
    r = httpx.post(url + "/v1/chat/completions", content=b"{not json", headers=auth)
    assert r.status_code == 400 and "JSON" in r.json()["error"]["message"]
    r = httpx.post(url + "/v1/chat/completions", json={"model": "tiny", "messages": []}, headers=auth)
    assert r.status_code == 400 and r.json()["error"]["param"] == "messages"
    r = httpx.post(url + "/v1/chat/completions", json=["a"], headers=auth)
    assert r.status_code == 400
    r = httpx.post(url + "/v1/completions", json={"model": "tiny", "prompt": "x"})
    assert r.status_code == 401 and r.json()["error"]["code"] == "invalid_api_key"
    with pytest.raises(openai.AuthenticationError):
        openai.OpenAI(base_url=url + "/v1", api_key="wrong", max_retries=0).models.list()
    # After all of that the server still answers.
    assert client.chat.completions.create(model="tiny", messages=CHAT, max_tokens=2).choices
