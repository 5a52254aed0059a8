"""Poem splits and tasks built from the real chinese-poetry corpus."""

from __future__ import annotations

import json
import random

import pytest

from langadapt.data import poems
from langadapt.errors import UserError


@pytest.fixture(scope="module")
def tang() -> list[dict]:
    return poems.load_poems("tang", limit=6000)


def by_id(records: list[dict]) -> dict[str, dict]:
    return {poems.poem_id(r): r for r in records}


def test_split_is_deterministic_disjoint_and_complete(tang):
    train, heldout = poems.split_poems(tang, heldout_fraction=0.1, salt="s1")
    shuffled = tang[:]
    random.Random(7).shuffle(shuffled)
    train2, heldout2 = poems.split_poems(shuffled, heldout_fraction=0.1, salt="s1")
    ids = lambda rs: {poems.poem_id(r) for r in rs}  # noqa: E731
    assert ids(heldout) == ids(heldout2) and ids(train) == ids(train2)
    assert not ids(train) & ids(heldout)
    assert len(train) + len(heldout) == len(tang)
    assert 0.08 < len(heldout) / len(tang) < 0.12
    # another salt draws another sample of the same size
    other = poems.split_poems(tang, heldout_fraction=0.1, salt="s2")[1]
    assert ids(other) != ids(heldout) and 0.08 < len(other) / len(tang) < 0.12


def test_a_poem_printed_twice_lands_on_one_side(tang):
    poem = next(r for r in tang if len(poems.poem_lines(r)) >= 2)
    copy = dict(poem, id="another-id", title=poem["title"] + "（又一本）", collection="song")
    for salt in ("a", "b", "c", "d"):
        sides = [bool(poems.split_poems([p], 0.5, salt)[1]) for p in (poem, copy)]
        assert sides[0] == sides[1]


def test_poem_text_round_trip(tang):
    rec = tang[0]
    text = poems.poem_text(rec)
    assert text.split("\n")[:2] == [rec["title"], rec["author"]]
    back = poems.parse_poem_text(text)
    assert back["paragraphs"] == poems.poem_lines(rec) and back["author"] == rec["author"]
    assert poems.looks_like_poem(text)
    prose = "1.1 控制臺基礎\n" + "啟動系統之後，如果你沒有安裝圖形介面，你會看到字元登入介面。" * 3 + "\n下一段。"
    assert not poems.looks_like_poem(prose)


def test_next_line_outputs_follow_their_prompt(tang):
    _, heldout = poems.split_poems(tang, 0.2)
    items = poems.next_line_items(heldout)
    assert len(items) > 500
    source = by_id(heldout)
    for item in items:
        rec = source[item["poem_id"]]
        lines = poems.poem_lines(rec)
        prompt = item["input"].split("\n")
        assert prompt[:2] == [rec["title"], rec["author"]]
        k = len(prompt) - 2
        assert 1 <= k <= poems.MAX_CONTEXT_LINES and prompt[2:] == lines[:k]
        assert item["output"] == item["reference"] == lines[k]
        assert item["instruction"] == poems.NEXT_LINE_INSTRUCTION and item["task_type"] == "next-line"
    assert items == poems.next_line_items(list(reversed(heldout)))  # order of the input does not matter
    assert len({i["input"].count("\n") for i in items}) > 1  # not always the same position


def test_author_choices_hold_the_true_author(tang):
    _, heldout = poems.split_poems(tang, 0.2)
    items = poems.author_mc_items(heldout)
    source = by_id(heldout)
    assert len(items) > 500
    for item in items:
        rec = source[item["poem_id"]]
        assert len(item["choices"]) == 4 == len(set(item["choices"]))
        assert item["choices"][item["answer"]] == rec["author"] == item["output"]
        assert rec["author"] not in poems.UNKNOWN_AUTHORS
        assert poems.poem_lines(rec)[0] in item["question"] and rec["author"] not in item["question"].split("\n")[1:2]
    answers = [i["answer"] for i in items]
    assert all(answers.count(a) > len(items) / 8 for a in range(4))  # the true author is not always in one place
    assert items == poems.author_mc_items(heldout)


def test_sft_and_eval_tasks_use_disjoint_poems(tang, tmp_path):
    _, heldout = poems.split_poems(tang, 0.2)
    path = tmp_path / "heldout.jsonl"
    # the clean stage's held-out file: documents whose text is poem_text, mixed with prose
    rows = [{"text": poems.poem_text(r), "language": "zh-Hant"} for r in heldout]
    prose = "說明\n" + "這是一段很長的現代散文，用來確認混在一起的文件不會被當成詩。" * 4
    rows.append({"text": prose, "language": "zh-Hant"})
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")

    sft = poems.build_tasks(path, seed=0)
    assert sft and all(set(r) == {"instruction", "input", "output", "task_type", "id"} for r in sft)
    assert {r["task_type"] for r in sft} == {"next-line", "author-mc"}
    nl_eval = poems.next_line_task(heldout=path)
    mc_eval = poems.author_choice_task(heldout=path, limit=50)
    assert nl_eval and len(mc_eval) == 50
    sft_inputs = {r["input"].split("\n")[2] for r in sft if r["task_type"] == "next-line"}
    eval_inputs = {r["input"].split("\n")[2] for r in nl_eval}
    assert not sft_inputs & eval_inputs
    sft_first = {r["input"].split("\n")[1] for r in sft if r["task_type"] == "author-mc"}
    assert not sft_first & {r["input"].split("\n")[1] for r in mc_eval}
    assert poems.build_tasks(path, seed=0) == sft
    assert poems.build_tasks(path, seed=1) != sft


def test_default_eval_tasks_come_from_held_out_tang_poems():
    items = poems.next_line_task(limit=20)
    mc = poems.author_choice_task(limit=20)
    assert len(items) == 20 and len(mc) == 20
    assert all(it["reference"] and it["language"] == "zh-Hant" for it in items)
    assert all(0 <= it["answer"] < 4 for it in mc)


def test_write_poem_tasks(tang, tmp_path):
    _, heldout = poems.split_poems(tang, 0.1)
    result = poems.write_poem_tasks(heldout, tmp_path / "tasks", half="eval", limit=30)
    files = result["files"]
    assert files["next-line.jsonl"] == 30 and files["author-mc.jsonl"] == 30 and files["sft.jsonl"] == 60
    sft_file = tmp_path / "tasks" / "sft.jsonl"
    sft = [json.loads(line) for line in sft_file.read_text(encoding="utf-8").splitlines()]
    assert all(r["instruction"] and r["output"] for r in sft)
    mc_file = tmp_path / "tasks" / "author-mc.jsonl"
    mc = [json.loads(line) for line in mc_file.read_text(encoding="utf-8").splitlines()]
    eval_half = {poems.poem_id(r) for r in poems.select_half(heldout, "eval")}
    assert all(r["poem_id"] in eval_half for r in mc)


def test_next_line_only_sft_set(tang):
    _, heldout = poems.split_poems(tang, 0.2)
    both = poems.build_tasks(heldout, seed=0)
    only = poems.build_tasks(heldout, seed=0, tasks=("next-line",))
    assert only and {r["task_type"] for r in only} == {"next-line"}
    assert only == [r for r in both if r["task_type"] == "next-line"][: len(only)]
    with pytest.raises(UserError, match="unknown poem task"):
        poems.build_tasks(heldout, tasks=("rhyme",))


def test_next_line_choices_have_the_answers_length_and_come_from_other_poems(tang):
    _, heldout = poems.split_poems(tang, 0.2)
    items = poems.next_line_choice_task(heldout=heldout, limit=80)
    assert len(items) == 80
    source = by_id(heldout)
    answers = []
    for it in items:
        own = poems.poem_lines(source[it["poem_id"]])
        truth = it["choices"][it["answer"]]
        assert truth in own and it["question"].endswith(own[own.index(truth) - 1])
        assert len(set(it["choices"])) == 4 and {len(c) for c in it["choices"]} == {len(truth)}
        assert not set(it["choices"]) - {truth} & set(own)
        answers.append(it["answer"])
    assert len(set(answers)) == 4  # the true line is not always in one place
    # only the `eval` half: none of these poems feeds the SFT set
    sft_openings = {r["input"].split("\n")[2] for r in poems.build_tasks(heldout, tasks=("next-line",))}
    assert not sft_openings & {it["question"].split("\n")[3] for it in items}
