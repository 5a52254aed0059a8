"""Held-out bits per character per source corpus: sampling, the eval stage's metrics and every report.

A tiny recipe with two target corpora (poems and prose, both zh-Hant) and English replay goes
through the real clean stage; the eval stage scores two tiny random Llamas on its held-out split.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from langadapt.eval.tasks import TaskOptions, load_task, sample_evenly


def _jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return path


def test_sample_evenly_takes_the_same_share_of_every_record():
    texts = ["a" * 1000, "b" * 100, "c" * 1000, "d" * 1000]
    got = sample_evenly(texts, 1600, min_chars=200)
    # b gives its whole 100; the 1,500 left split evenly over the three long records
    assert got == ["a" * 500, "b" * 100, "c" * 500, "d" * 500]
    assert sample_evenly(texts, 1600, min_chars=200) == got  # deterministic
    assert sample_evenly(["xy", "", "z"], 100) == ["xy", "z"]  # under the budget: everything, empties dropped


def test_sample_evenly_spreads_over_many_short_records():
    texts = [f"{i:03d}" + "字" * 97 for i in range(200)]  # 200 records of 100 characters
    got = sample_evenly(texts, 2000, min_chars=400)
    assert sum(map(len, got)) == 2000 and len(got) == 20
    firsts = [int(t[:3]) for t in got]
    assert firsts == sorted(firsts)  # corpus order kept
    # drawn from the whole list, not its head: every tenth of it is represented
    assert {i // 20 for i in firsts} == set(range(10))


def test_heldout_bpc_groups_by_source(tmp_path):
    rows = ([{"text": f"{i}" + "月" * 299, "source": "poems", "language": "zh-Hant"} for i in range(5)]
            + [{"text": "程式" * 400, "source": "prose", "language": "zh-Hant"} for _ in range(3)]
            + [{"text": "word " * 100, "source": "replay", "language": "en"}])
    path = _jsonl(tmp_path / "heldout.jsonl", rows)
    task = load_task("heldout-bpc", TaskOptions(heldout=str(path), max_chars=600))
    assert task.groups == {"poems": "zh-Hant", "prose": "zh-Hant", "replay": "en"}
    assert {k: sum(map(len, v)) for k, v in task.texts.items()} == {"poems": 600, "prose": 600, "replay": 500}
    # an even share (120) would be too short to score: whole poems spread over the list instead
    assert [t[0] for t in task.texts["poems"]] == ["0", "2"] and [len(t) for t in task.texts["poems"]] == [300, 300]
    only_zh = load_task("heldout-bpc", TaskOptions(heldout=str(path), max_chars=600, languages=["zh-Hant"]))
    assert set(only_zh.texts) == {"poems", "prose"}
    _jsonl(path, rows + [{"text": "mixed", "source": "poems", "language": "en"}])
    with pytest.raises(Exception, match="mixes languages"):
        load_task("heldout-bpc", TaskOptions(heldout=str(path)))


POEM_LINES = ["床前明月光，疑是地上霜。舉頭望明月，低頭思故鄉。", "白日依山盡，黃河入海流。欲窮千里目，更上一層樓。",
              "春眠不覺曉，處處聞啼鳥。夜來風雨聲，花落知多少。", "紅豆生南國，春來發幾枝。願君多采擷，此物最相思。"]
PROSE_LINES = ["使用者可以在設定頁面中變更預設的字型與版面配置。", "請先儲存目前的文件，再開啟新的視窗進行編輯。",
               "這個指令會列出目錄中的所有檔案，並依照名稱排序。", "若要列印文件，請從檔案選單中選擇列印選項。"]


@pytest.fixture(scope="module")
def second_tiny(tmp_path_factory):
    from langadapt.models.tiny import build_tiny_model

    return build_tiny_model(tmp_path_factory.mktemp("tiny2"), seed=1)


def test_two_corpora_scored_and_reported_per_source(tmp_path, tiny_model_dir, second_tiny):
    from langadapt.config import recipe_from_dict
    from langadapt.corpus.stage import run as clean_run
    from langadapt.eval.stage import run as eval_run
    from langadapt.export.card_eval import evaluation, model_index
    from langadapt.pipeline.compare import comparison_columns, comparison_rows, plot_comparison
    from langadapt.pipeline.document import to_markdown
    from langadapt.pipeline.report import build_sections
    from langadapt.rundir import RunDir, StageRecord
    from langadapt.stages import StageContext
    from langadapt.tokenizer.stage import run as tok_run

    # numbered lines keep every document distinct (no dedup); 30 per source, half held out by hash
    (tmp_path / "poems.txt").write_text("\n".join(f"{POEM_LINES[i % 4]}其{i}" for i in range(30)) + "\n", encoding="utf-8")
    (tmp_path / "prose.txt").write_text("\n".join(f"第{i}節：{PROSE_LINES[i % 4]}" for i in range(30)) + "\n", encoding="utf-8")
    (tmp_path / "en.txt").write_text("\n".join(f"Line {i}: the quick brown fox jumps over the lazy dog." for i in range(30)) + "\n",
                                     encoding="utf-8")
    recipe = recipe_from_dict({
        "name": "t", "base_model": str(tiny_model_dir), "languages": ["zh-Hant"], "run_dir": str(tmp_path / "runs"),
        "corpora": [{"name": "tang-poems", "path": "poems.txt"}, {"name": "zh-tw-prose", "path": "prose.txt"},
                    {"name": "en-prose", "path": "en.txt", "language": "en", "role": "replay"}],
        "clean": {"heldout_fraction": 0.5, "min_chars": 5}, "tokenizer": {"new_tokens": 30, "report_chars": 200},
        "eval": {"tasks": ["udhr-bpc"], "compare": ["base", "pretrain"], "max_chars": 300, "batch_size": 4},
    })
    recipe._source = tmp_path / "recipe.yaml"
    rundir = RunDir(tmp_path / "runs" / "t")
    clean_dir = rundir.stage_dir("clean")
    clean_dir.mkdir(parents=True, exist_ok=True)
    clean = clean_run(StageContext(recipe, clean_dir, rundir))
    held = [json.loads(line) for line in Path(clean.outputs["heldout"]).open(encoding="utf-8")]
    assert {d["source"] for d in held} == {"tang-poems", "zh-tw-prose", "en-prose"}

    # the tokenizer stage: tokens/char and bits/char right after extension, per source too
    tok_dir = rundir.stage_dir("tokenizer")
    tok_dir.mkdir(parents=True, exist_ok=True)
    tok = tok_run(StageContext(recipe, tok_dir, rundir, artifacts={"clean.corpus": clean.outputs["corpus"],
                                                                   "clean.heldout": clean.outputs["heldout"]}))
    tm = tok.metrics.to_dict()  # as the manifest stores it
    assert tm["heldout_source_languages"] == {"tang-poems": "zh-Hant", "zh-tw-prose": "zh-Hant", "en-prose": "en"}
    for key in ("tokens_per_char_by_source_before", "tokens_per_char_by_source_after", "bpc_by_source_before",
                "bpc_by_source_after_init"):
        assert set(tm[key]) == set(tm["heldout_source_languages"]), key
    assert tm["tokens_per_char_by_source_after"]["zh-tw-prose"] < tm["tokens_per_char_by_source_before"]["zh-tw-prose"]
    assert tm["bpc_by_source_before"]["tang-poems"] != tm["bpc_by_source_before"]["zh-tw-prose"]
    assert "zh-Hant" in tm["tokens_per_char_before"]  # the per-language figures stay

    eval_dir = rundir.stage_dir("eval")
    eval_dir.mkdir(parents=True, exist_ok=True)
    result = eval_run(StageContext(recipe, eval_dir, rundir, artifacts={
        "clean.heldout": clean.outputs["heldout"], "pretrain.model": str(second_tiny), "tokenizer.model": str(tiny_model_dir)}))
    m = result.metrics.to_dict()
    by_source = m["heldout_bpc_by_source"]
    assert set(by_source) == {"base", "pretrain"}
    assert set(by_source["base"]) == {"tang-poems", "zh-tw-prose", "en-prose"}
    assert by_source["base"]["tang-poems"] != by_source["base"]["zh-tw-prose"]
    assert m["heldout_sources"]["zh-tw-prose"]["language"] == "zh-Hant" and m["heldout_sources"]["en-prose"]["language"] == "en"
    assert 0 < m["heldout_sources"]["tang-poems"]["characters"] <= 300
    # the per-language figure is the plain mean over that language's sources
    for label in ("base", "pretrain"):
        mean = (by_source[label]["tang-poems"] + by_source[label]["zh-tw-prose"]) / 2
        assert m["heldout_bpc"][label]["zh-Hant"] == pytest.approx(mean, abs=1e-4)
        assert m["heldout_bpc"][label]["en"] == by_source[label]["en-prose"]
    assert m["bpc_task"] == "udhr-bpc" and set(m["bpc"]["base"]) == {"zh-Hant", "en"}

    results_md = Path(result.outputs["table"]).read_text(encoding="utf-8")
    for src, lang in (("tang-poems", "zh-Hant"), ("zh-tw-prose", "zh-Hant"), ("en-prose", "en")):
        row = next(line for line in results_md.splitlines() if line.startswith(f"| {src} ({lang}) |"))
        assert f"{by_source['base'][src]:.3f}" in row and f"{by_source['pretrain'][src]:.3f}" in row
    assert "| **zh-Hant: mean of 2 sources** |" in results_md

    rundir.write_manifest(StageRecord("clean", "x", {}, {}, clean.outputs, clean.metrics.to_dict()))
    rundir.write_manifest(StageRecord("eval", "y", {}, {}, result.outputs, m))
    rundir.write_manifest(StageRecord("tokenizer", "z", {}, {}, tok.outputs, tm))
    report = to_markdown("r", build_sections(recipe, rundir))
    for src in ("tang-poems", "zh-tw-prose", "en-prose"):
        row = next(line for line in report.splitlines() if line.startswith(f"| held-out {src} ("))
        assert f"{by_source['base'][src]:.3f}" in row
    assert "| held-out zh-Hant: mean of 2 sources |" in report and "| UDHR zh-Hant |" in report
    tok_row = next(line for line in report.splitlines() if line.startswith("| zh-tw-prose (zh-Hant) |"))
    assert f"{tm['bpc_by_source_after_init']['zh-tw-prose']:.3f}" in tok_row and tok_row.rstrip(" |").endswith("x")

    card = "\n".join(evaluation(rundir.manifests(), {}))
    assert "| tang-poems (zh-Hant) |" in card and "| zh-tw-prose (zh-Hant) |" in card
    names = [r["dataset"]["name"] for r in model_index("m", rundir.manifests())[0]["results"]]
    assert "held-out text (zh-tw-prose, zh-Hant)" in names and "UDHR (zh-Hant)" in names

    # the naive-route table: one column per held-out source beside UDHR, and its chart
    manifests = rundir.manifests()
    columns = comparison_columns(manifests, manifests, "zh-Hant", "en")
    assert columns[1:4] == ["bits/char held-out tang-poems (zh-Hant)", "bits/char held-out zh-tw-prose (zh-Hant)",
                            "bits/char held-out en-prose (en)"]
    rows = comparison_rows(manifests, manifests, "zh-Hant", "en")
    assert [len(r) for r in rows] == [len(columns) + 1] * 3
    assert rows[0][2] == by_source["base"]["tang-poems"] and rows[2][3] == by_source["pretrain"]["zh-tw-prose"]
    png = plot_comparison({"columns": columns, "rows": rows}, tmp_path / "baseline.png")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
