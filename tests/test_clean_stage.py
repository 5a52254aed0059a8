"""The clean stage through a Recipe, and the `langadapt clean` command."""

from __future__ import annotations

import json
from pathlib import Path

from langadapt.cli.main import main
from langadapt.config import recipe_from_dict
from langadapt.corpus.stage import run
from langadapt.rundir import RunDir
from langadapt.stages import StageContext

POEMS = [{"id": f"p{i}", "author": author, "title": title, "paragraphs": lines}
         for i, (author, title, lines) in enumerate([
             ("李白", "靜夜思", ["床前明月光，疑是地上霜。", "舉頭望明月，低頭思故鄉。"]),
             ("王之渙", "登鸛雀樓", ["白日依山盡，黃河入海流。", "欲窮千里目，更上一層樓。"]),
             ("孟浩然", "春曉", ["春眠不覺曉，處處聞啼鳥。", "夜來風雨聲，花落知多少。"]),
             ("王維", "相思", ["紅豆生南國，春來發幾枝。", "願君多采擷，此物最相思。"]),
         ])]


def test_stage_run_from_recipe(tmp_path, tiny_model_dir):
    (tmp_path / "poems.jsonl").write_text("\n".join(json.dumps(p, ensure_ascii=False) for p in POEMS) + "\n", encoding="utf-8")
    (tmp_path / "en.txt").write_text("The quick brown fox jumps over the lazy dog.\nThe quick brown fox jumps over the lazy dog.\n", encoding="utf-8")
    recipe = recipe_from_dict({
        "name": "t", "base_model": str(tiny_model_dir), "languages": ["zh-Hant"],
        "corpora": [{"name": "poems", "path": "poems.jsonl", "template": "{title}\n{paragraphs}"},
                    {"name": "replay", "path": "en.txt", "language": "en", "role": "replay"}],
        "clean": {"heldout_fraction": 0.5},
    })
    recipe._source = tmp_path / "recipe.yaml"  # relative corpus paths resolve against the recipe's folder
    out = tmp_path / "runs" / "t" / "clean"
    out.mkdir(parents=True)
    result = run(StageContext(recipe, out, RunDir(tmp_path / "runs" / "t")))
    m = result.metrics.to_dict()  # as the manifest stores it
    assert m["documents_in"] == 6 and m["documents_kept"] == 5 and m["rejects_by_reason"] == {"exact_duplicate": 1}
    assert m["heldout_documents"] >= 1 and m["tokens_out"] > 0 and m["preset"] == {"poems": "zh-Hant", "replay": "en"}
    for key in ("corpus", "heldout", "stats", "report", "histogram", "rejects"):
        assert Path(result.outputs[key]).exists(), key
    held = [json.loads(line) for line in Path(result.outputs["heldout"]).open(encoding="utf-8")]
    poem = next(d for d in held if d["source"] == "poems")
    assert {"author", "title", "id"} <= set(poem["meta"]) and poem["text"].startswith(poem["meta"]["title"] + "\n")
    replay = [json.loads(line) for f in Path(result.outputs["corpus"]).glob("*.jsonl") for line in f.open(encoding="utf-8")] + held
    assert any(d["role"] == "replay" and d["language"] == "en" for d in replay)


def test_cli_clean_and_merge(tmp_path, capsys):
    src = tmp_path / "in.txt"
    src.write_bytes("你好嗎Jack這是我們的10c.c\n今天,我們去吃飯.\n今天,我們去吃飯.\n".encode("utf-8") + b"\xff\xfe\n")
    for i in range(2):
        code = main(["clean", str(src), "--out", str(tmp_path / f"p{i}"), "--preset", "zh-Hant", "--shard", f"{i}/2",
                     "--no-progress", "clean.heldout_fraction=0"])
        assert code == 0
    assert main(["clean", "merge", str(tmp_path / "p0"), str(tmp_path / "p1"), "--out", str(tmp_path / "m"), "--no-progress"]) == 0
    printed = capsys.readouterr().out
    assert "input records 4 = kept 2 + rejected 2 (ok)" in printed
    texts = [json.loads(line)["text"] for line in (tmp_path / "m" / "corpus" / "part-00000.jsonl").open(encoding="utf-8")]
    assert texts == ["你好嗎 Jack 這是我們的 10 c.c", "今天，我們去吃飯。"]
    assert main(["clean", str(tmp_path / "missing.txt"), "--out", str(tmp_path / "x")]) == 2
    assert main(["clean", str(src), "--out", str(tmp_path / "x"), "--shard", "3/2"]) == 2
