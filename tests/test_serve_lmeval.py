"""lm-evaluation-harness against `langadapt serve`: `local-completions` (with the server's own
tokenizer through /tokenize) gives the same multiple-choice log-likelihoods as lm-eval's `hf`
backend on the same model. Needs `pip install 'langadapt[lmeval]'`; skipped without it."""

from __future__ import annotations

import json

import pytest

lm_eval = pytest.importorskip("lm_eval")
if not hasattr(pytest.importorskip("lm_eval.utils"), "RemoteTokenizer"):
    pytest.skip("this lm-eval has no remote tokenizer backend (0.4.13 has)", allow_module_level=True)
pytest.importorskip("tenacity", reason="lm-eval's API models need `pip install 'lm-eval[api]'`")

DOCS = [
    {"question": "The capital of France is", "choices": [" Paris", " Berlin", " Rome"], "answer": 0},
    {"question": "台灣的首都是", "choices": ["臺北", "東京", "首爾"], "answer": 0},
    {"question": "Two plus two equals", "choices": [" four", " five"], "answer": 0},
    {"question": "A cat says", "choices": [" meow", " woof", " moo", " quack"], "answer": 0},
]

TASK = """task: langadapt_mc
dataset_path: json
dataset_kwargs:
  data_files:
    test: {data}
test_split: test
output_type: multiple_choice
doc_to_text: "{{{{question}}}}"
doc_to_choice: "{{{{choices}}}}"
doc_to_target: answer
metric_list:
  - metric: acc
"""


def _loglikelihoods(model: str, model_args: str, tasks_dir) -> list[list[float]]:
    from lm_eval import simple_evaluate
    from lm_eval.tasks import TaskManager

    out = simple_evaluate(model=model, model_args=model_args, tasks=["langadapt_mc"], batch_size=1, log_samples=True,
                          task_manager=TaskManager(include_path=str(tasks_dir)))
    samples = sorted(out["samples"]["langadapt_mc"], key=lambda s: s["doc_id"])
    return [[float(r[0][0]) for r in s["resps"]] for s in samples]


@pytest.mark.slow
def test_local_completions_equal_hf_backend(tiny_model_dir, tmp_path):
    from langadapt.config.generation import GenerationConfig
    from langadapt.serve.api import create_app
    from langadapt.serve.loading import start_engine
    from langadapt.serve.server import serve_in_thread

    data = tmp_path / "mc.jsonl"
    data.write_text("".join(json.dumps(d, ensure_ascii=False) + "\n" for d in DOCS), encoding="utf-8")
    (tmp_path / "langadapt_mc.yaml").write_text(TASK.format(data=data), encoding="utf-8")
    reference = _loglikelihoods("hf", f"pretrained={tiny_model_dir},dtype=float32,device=cpu", tmp_path)

    engine = start_engine(str(tiny_model_dir), max_batch_size=4, dtype="fp32")
    app = create_app(engine, ["tiny"], GenerationConfig(max_new_tokens=8))
    srv = serve_in_thread(app)
    try:
        served = _loglikelihoods(
            "local-completions", f"base_url={srv.url}/v1/completions,model=tiny,tokenizer_backend=remote,"
            "tokenized_requests=True,num_concurrent=1,max_retries=1", tmp_path)
        routes = {s.labels["route"] for s in app.state.metrics.requests.collect()[0].samples}
    finally:
        srv.stop()
        engine.shutdown()
    assert {"/tokenize", "/tokenizer_info", "/v1/completions"} <= routes  # lm-eval used the server's tokenizer
    assert all(v < 0 for row in served for v in row)
    assert [len(r) for r in served] == [len(d["choices"]) for d in DOCS]
    for got, want in zip(served, reference):
        assert got == pytest.approx(want, abs=2e-4)
