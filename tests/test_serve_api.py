"""The OpenAI-compatible API through the official `openai` client (and raw HTTP for malformed input)."""

from __future__ import annotations

import httpx
import pytest

openai = pytest.importorskip("openai")

KEY = "test-key"
JSON = {"Content-Type": "application/json"}


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
    r = httpx.post(url + "/v1/chat/completions", content=b"{not json", headers={**auth, **JSON})
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


def _post(server, path, body=None, content=None, headers=None, key=True):
    head = {**JSON, **({"Authorization": f"Bearer {KEY}"} if key else {}), **(headers or {})}
    return httpx.post(server[0].url + path, json=body, content=content, headers=head, timeout=60)


def _error(r, status):
    assert r.status_code == status, (r.status_code, r.text)
    err = r.json()["error"]
    assert set(err) == {"message", "type", "param", "code"} and err["message"]
    return err


HOSTILE_BODIES = [
    # Python's parser raises ValueError (digit limit) or RecursionError here, not JSONDecodeError.
    (b'{"model": "tiny", "prompt": "x", "max_tokens": ' + b"9" * 5000 + b"}", "not valid JSON"),
    (b"[" * 100_000, "nested too deeply"),
    (b'{"model": "tiny", "prompt": "\\ud800 hi", "max_tokens": 2}', "surrogate"),
    (b'{"model": "tiny", "messages": [{"role": "user", "content": "\\udfff"}]}', "surrogate"),
    (b'{"model": "tiny", "prompt": "x", "seed": 18446744073709551616}', "seed"),
    (b'{"model": "tiny", "prompt": "x", "temperature": NaN}', "temperature"),
    (b'{"model": "tiny", "prompt": "x", "top_p": Infinity}', "top_p"),
    (b'{"model": "tiny", "prompt": "x", "repetition_penalty": 1e-300}', "repetition_penalty"),
    (b'{"model": "tiny", "prompt": "x", "begin_suppress_tokens": [99999999]}', "begin_suppress_tokens"),
    (b"\xff\xfe{}", "not valid JSON"),
]


@pytest.mark.parametrize("raw,words", HOSTILE_BODIES)
def test_hostile_bodies_get_a_json_400(server, raw, words):
    path = "/v1/chat/completions" if b"messages" in raw else "/v1/completions"
    err = _error(_post(server, path, content=raw), 400)
    assert words in err["message"]


@pytest.mark.parametrize("field,value", [("tools", [{"type": "function", "function": {"name": "f"}}]),
                                         ("tool_choice", "required"), ("response_format", {"type": "json_object"}),
                                         ("logit_bias", {"50": 100}), ("best_of", 3)])
def test_unsupported_parameters_are_refused_by_name(server, field, value):
    body = {"model": "tiny", "messages": CHAT, "max_tokens": 2, field: value}
    path = "/v1/chat/completions"
    if field == "best_of":
        body, path = {"model": "tiny", "prompt": "x", "max_tokens": 2, "best_of": 3}, "/v1/completions"
    err = _error(_post(server, path, body), 400)
    assert field in err["message"] and err["param"] == field and err["code"] == "unsupported_parameter"
    # The value that means "off" is accepted, as clients send it by default.
    off = {"tools": [], "tool_choice": "none", "response_format": {"type": "text"}, "logit_bias": {}, "best_of": 1}
    body[field] = off[field]
    assert _post(server, path, body).status_code == 200


def test_tiny_temperature_decodes_greedily_and_penalties_apply(client):
    greedy = client.completions.create(model="tiny", prompt="The", max_tokens=12, temperature=0).choices[0]
    tiny_t = client.completions.create(model="tiny", prompt="The", max_tokens=12, temperature=1e-300).choices[0]
    assert tiny_t.text == greedy.text and tiny_t.finish_reason == greedy.finish_reason
    # A heavy frequency penalty forbids the repeats that greedy decoding of a random model makes.
    greedy_ids = client.completions.create(model="tiny", prompt="The", max_tokens=24, temperature=0, logprobs=0)
    tokens = greedy_ids.choices[0].logprobs.tokens
    penalised = client.completions.create(model="tiny", prompt="The", max_tokens=24, temperature=0, logprobs=0,
                                          frequency_penalty=2.0, presence_penalty=2.0).choices[0].logprobs.tokens
    assert len(set(tokens)) < len(tokens)  # the random model repeats itself...
    assert len(set(penalised)) > len(set(tokens))  # ...and the penalty makes it vary


def test_error_shapes_for_routes_methods_types_hosts_and_docs(server):
    url = server[0].url
    auth = {"Authorization": f"Bearer {KEY}"}
    assert _error(httpx.get(url + "/v1/nothing-here", headers=auth), 404)["code"] == "not_found"
    assert _error(httpx.get(url + "/v1/completions", headers=auth), 405)["code"] == "method_not_allowed"
    # A web page can POST text/plain cross-site without a preflight: refused.
    r = httpx.post(url + "/v1/completions", content=b'{"model": "tiny", "prompt": "x"}',
                   headers={**auth, "Content-Type": "text/plain"})
    assert _error(r, 415)["code"] == "unsupported_media_type"
    # DNS rebinding: a page on evil.example whose name resolves to 127.0.0.1.
    r = httpx.get(url + "/v1/models", headers={**auth, "Host": "evil.example:8000"})
    assert _error(r, 400)["code"] == "invalid_host"
    assert httpx.get(url + "/v1/models", headers={**auth, "Host": "localhost:1234"}).status_code == 200
    # The API description is behind the key too; /docs (a page loading scripts from elsewhere) is off.
    assert _error(httpx.get(url + "/openapi.json"), 401)["code"] == "invalid_api_key"
    assert "/v1/completions" in httpx.get(url + "/openapi.json", headers=auth).json()["paths"]
    _error(httpx.get(url + "/docs", headers=auth), 404)


def test_limits_answer_413(server):
    err = _error(_post(server, "/v1/completions", content=b'{"prompt": "' + b"x" * (5 << 20) + b'"}'), 413)
    assert "--max-body-bytes" in err["message"]
    # Chunked: no Content-Length to check up front, so the limit is kept while reading.
    chunks = iter([b'{"prompt": "'] + [b"x" * 65536] * 80 + [b'"}'])
    assert "--max-body-bytes" in _error(_post(server, "/v1/completions", content=chunks), 413)["message"]
    err = _error(_post(server, "/v1/completions", {"model": "tiny", "prompt": ["a"] * 8, "n": 16, "max_tokens": 1}), 413)
    assert "--max-choices" in err["message"] and err["param"] == "n"
    err = _error(_post(server, "/v1/completions", {"model": "tiny", "prompt": "a", "stop": ["y" * 1500] * 2}), 413)
    assert "--max-stop-chars" in err["message"]


def test_refusal_of_a_stream_is_plain_json(server):
    r = _post(server, "/v1/chat/completions", {"model": "tiny", "messages": CHAT, "stream": True, "seed": 2**64})
    assert r.headers["content-type"].startswith("application/json") and _error(r, 400)["param"] == "seed"


def test_tokenize_and_detokenize_like_vllm(server):
    engine = server[1]
    r = _post(server, "/tokenize", {"model": "tiny", "prompt": "Hello world, 你好"})
    body = r.json()
    assert body["tokens"] == engine.tokenizer("Hello world, 你好").input_ids
    assert body["count"] == len(body["tokens"]) and body["max_model_len"] == engine.context_length
    text = _post(server, "/detokenize", {"model": "tiny", "tokens": body["tokens"]}).json()["prompt"]
    assert text == "Hello world, 你好"
    chat = _post(server, "/tokenize", {"model": "tiny", "messages": CHAT}).json()
    rendered = engine.tokenizer.apply_chat_template(CHAT, add_generation_prompt=True, tokenize=False)
    assert chat["tokens"] == engine.tokenizer(rendered, add_special_tokens=False).input_ids
    strs = _post(server, "/tokenize", {"prompt": "Hi", "return_token_strs": True}).json()["token_strs"]
    assert strs == engine.tokenizer.convert_ids_to_tokens(engine.tokenizer("Hi").input_ids)
    info = httpx.get(server[0].url + "/tokenizer_info", headers={"Authorization": f"Bearer {KEY}"}).json()
    assert info["eos_token"] == engine.tokenizer.eos_token and info["model_max_length"] == engine.context_length
    _error(_post(server, "/tokenize", {"model": "tiny"}), 400)
    _error(_post(server, "/tokenize", {"model": "other", "prompt": "x"}), 404)
    _error(_post(server, "/detokenize", {"tokens": [-1]}), 400)
    _error(_post(server, "/tokenize", {"prompt": "x"}, key=False), 401)


def test_metrics_parse_as_prometheus_text(server, client):
    from prometheus_client.parser import text_string_to_metric_families

    def read() -> dict:
        r = httpx.get(server[0].url + "/metrics", headers={"Authorization": f"Bearer {KEY}"})
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/plain")
        return {f.name: f for f in text_string_to_metric_families(r.text)}

    before = read()
    client.completions.create(model="tiny", prompt="Count", max_tokens=5, temperature=0)
    _post(server, "/v1/completions", {"model": "nope", "prompt": "x"})
    after = read()

    def value(families, name, sample, **labels):
        for s in families[name].samples if name in families else ():
            if s.name == sample and all(s.labels.get(k) == v for k, v in labels.items()):
                return s.value
        return 0.0

    ok = dict(route="/v1/completions", status="200")
    assert value(after, "langadapt_requests", "langadapt_requests_total", **ok) == \
        value(before, "langadapt_requests", "langadapt_requests_total", **ok) + 1
    assert value(after, "langadapt_requests", "langadapt_requests_total", route="/v1/completions", status="404") >= 1
    generated = value(after, "langadapt_generated_tokens", "langadapt_generated_tokens_total") - \
        value(before, "langadapt_generated_tokens", "langadapt_generated_tokens_total")
    assert 1 <= generated <= 5
    assert value(after, "langadapt_request_latency_seconds", "langadapt_request_latency_seconds_count",
                 route="/v1/completions") >= 2
    assert after["langadapt_queue_length"].samples[0].value >= 0
