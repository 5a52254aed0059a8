"""Side-by-side evaluation of two real (tiny) models: CLI, results files, markdown table, bar chart, stage."""

from __future__ import annotations

import json

import pytest

from langadapt.cli.main import main
from langadapt.config.evaluation import EvalConfig
from langadapt.errors import UserError


@pytest.fixture(scope="module")
def second_tiny(tmp_path_factory):
    """A second tiny Llama with other random weights, so two columns really differ."""
    from langadapt.models.tiny import build_tiny_model

    return build_tiny_model(tmp_path_factory.mktemp("tiny2"), seed=1)


@pytest.fixture()
def task_files(tmp_path):
    bpc = tmp_path / "texts.jsonl"
    bpc.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in [
        {"text": "All human beings are born free and equal in dignity and rights.", "language": "en"},
        {"text": "人人生而自由，在尊嚴和權利上一律平等。", "language": "zh-Hant"},
        {"text": "འགྲོ་བ་མིའི་རིགས་རྒྱུད་ཡོངས་ལ་སྐྱེས་ཙམ་ཉིད་ནས་རང་དབང་དང༌།", "language": "bo"}]), encoding="utf-8")
    mc = tmp_path / "mc.jsonl"
    mc.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in [
        {"question": "1+1=", "choices": ["2", "3"], "answer": 0},
        {"question": "台灣的首都？", "A": "台北", "B": "東京", "answer": "A"}]), encoding="utf-8")
    gen = tmp_path / "gen.jsonl"
    gen.write_text(json.dumps({"instruction": "Say hi", "reference": "hi", "task_type": "greet"}) + "\n", encoding="utf-8")
    return bpc, mc, gen


def test_cli_side_by_side(tmp_path, tiny_model_dir, second_tiny, task_files, capsys):
    bpc, mc, gen = task_files
    out = tmp_path / "out"
    code = main(["eval", "--model", str(tiny_model_dir), "--model", str(second_tiny), "--label", "base", "--label", "cpt",
                 "--tasks", f"{bpc},{mc}", "--tasks", str(gen), "--max-new-tokens", "4", "--batch-size", "2",
                 "--out", str(out)])
    assert code == 0
    printed = capsys.readouterr().out
    assert "| language | base | cpt |" in printed
    assert "not comparable across tokenizers" in printed
    results = json.loads((out / "results.json").read_text())
    scores = results["tasks"]["texts"]["scores"]
    assert set(scores) == {"base", "cpt"} and set(scores["base"]) == {"en", "zh-Hant", "bo"}
    assert scores["base"]["en"]["bits_per_char"] != scores["cpt"]["en"]["bits_per_char"]
    md = (out / "results.md").read_text()
    for lang in ("en", "zh-Hant", "bo"):
        row = next(line for line in md.splitlines() if line.startswith(f"| {lang} |"))
        assert f"{scores['base'][lang]['bits_per_char']:.3f}" in row and f"{scores['cpt'][lang]['bits_per_char']:.3f}" in row
    assert "### mc: multiple choice" in md and "### gen: ROUGE-L F1 and chrF" in md
    assert results["tasks"]["mc"]["scores"]["base"]["n"] == 2
    png = (out / "results.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 5000


def test_render_markdown_and_plot_from_results(tmp_path):
    from langadapt.eval.report import render_markdown, write_report

    results = {"models": {"base": "a", "sft": "b"}, "tasks": {
        "udhr-bpc": {"kind": "bpc", "scores": {
            "base": {"en": {"bits_per_char": 1.0, "bits_per_byte": 1.0, "token_perplexity": 9.0, "characters": 10}},
            "sft": {"en": {"bits_per_char": 1.25, "bits_per_byte": 1.2, "token_perplexity": 11.0, "characters": 10}}}},
        "qa": {"kind": "generation", "scores": {"base": {"x": {"rouge_l": 10.0, "chrf": 20.0, "n": 1},
                                                          "average": {"rouge_l": 10.0, "chrf": 20.0, "n": 1}},
                                                 "sft": {"x": {"rouge_l": 30.0, "chrf": 40.0, "n": 1},
                                                         "average": {"rouge_l": 30.0, "chrf": 40.0, "n": 1}}}}}}
    md = render_markdown(results)
    assert "| en | 1.000 | 1.250 |" in md
    assert "| **average** | 10.0 | 20.0 | 30.0 | 40.0 | 1 |" in md
    files = write_report(results, tmp_path)
    assert set(files) == {"results", "table", "plot"}
    assert json.loads((tmp_path / "results.json").read_text())["files"]["plot"].endswith("results.png")


def test_cli_errors(tmp_path, capsys):
    assert main(["eval", "--tasks", "udhr-bpc"]) == 2
    assert "no model" in capsys.readouterr().err
    assert main(["eval", "--model", "a", "--model", "b", "--label", "x"]) == 2
    assert main(["eval", "--model", "tiny-random-llama", "--tasks", str(tmp_path / "missing.jsonl")]) == 2
    assert "unknown task" in capsys.readouterr().err


def test_lm_eval_backend_needs_package(tmp_path):
    import importlib.util

    if importlib.util.find_spec("lm_eval") is not None:
        pytest.skip("lm-evaluation-harness is installed here")
    from langadapt.eval.lmeval import evaluate_lm_eval

    with pytest.raises(UserError, match=r"pip install 'langadapt\[lmeval\]'"):
        evaluate_lm_eval({"m": "tiny-random-llama"}, EvalConfig(backend="lm-eval", tasks=["hellaswag"]))


def test_stage_compares_run_models(tmp_path, tiny_model_dir, second_tiny, task_files):
    from langadapt.config.recipe import Recipe
    from langadapt.eval.stage import run
    from langadapt.rundir import RunDir
    from langadapt.stages import StageContext

    bpc, mc, _ = task_files
    heldout = tmp_path / "heldout.jsonl"
    heldout.write_text(json.dumps({"text": "人人生而自由，在尊嚴和權利上一律平等。", "language": "zh-Hant"}, ensure_ascii=False) + "\n"
                       + json.dumps({"text": "Everyone has the right to life.", "language": "en"}) + "\n", encoding="utf-8")
    recipe = Recipe(name="t", base_model=str(tiny_model_dir), languages=["zh-Hant"], run_dir=str(tmp_path),
                    eval={"tasks": [str(mc)], "compare": ["base", "pretrain"], "batch_size": 4})
    out = tmp_path / "t" / "eval"
    out.mkdir(parents=True)
    ctx = StageContext(recipe=recipe, out_dir=out, run_dir=RunDir(tmp_path / "t"),
                       artifacts={"clean.heldout": str(heldout), "pretrain.model": str(second_tiny),
                                  "tokenizer.model": str(tiny_model_dir)})
    result = run(ctx)
    assert set(result.outputs) == {"results", "table", "plot"}
    assert set(result.metrics.bpc) == {"base", "pretrain"}  # tokenizer not in eval.compare
    assert set(result.metrics.bpc["base"]) == {"zh-Hant", "en"}
    assert result.metrics.bpb["pretrain"]["zh-Hant"] < result.metrics.bpc["pretrain"]["zh-Hant"]
    assert set(result.metrics.tasks["mc"]) == {"base", "pretrain"}
    saved = json.loads((out / "results.json").read_text())
    assert saved["heldout"] == str(heldout)


def test_lm_eval_backend_with_local_task(tmp_path, tiny_model_dir):
    pytest.importorskip("lm_eval")
    from langadapt.eval.lmeval import evaluate_lm_eval

    data = tmp_path / "mc.jsonl"
    data.write_text("".join(json.dumps({"question": q, "choices": c, "answer": a}) + "\n" for q, c, a in [
        ("Sky colour?", ["blue", "green"], 0), ("Dog legs?", ["two", "four"], 1)]), encoding="utf-8")
    spec = tmp_path / "local_mc.yaml"
    spec.write_text(f"""task: local_mc
dataset_path: json
dataset_kwargs:
  data_files:
    test: {data}
test_split: test
output_type: multiple_choice
doc_to_text: "Question: {{{{question}}}}\\nAnswer:"
doc_to_choice: "{{{{choices}}}}"
doc_to_target: answer
metric_list:
  - metric: acc
""", encoding="utf-8")
    cfg = EvalConfig(backend="lm-eval", tasks=[str(spec)], few_shot=0)
    results = evaluate_lm_eval({"tiny": str(tiny_model_dir)}, cfg, out_dir=tmp_path / "out")
    acc = results["tasks"]["local_mc"]["scores"]["tiny"]["acc"]
    assert acc in (0.0, 0.5, 1.0)
    assert "local_mc (lm-evaluation-harness)" in (tmp_path / "out" / "results.md").read_text()
