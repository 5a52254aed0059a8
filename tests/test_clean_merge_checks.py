"""`langadapt clean merge` refuses an incomplete, repeated or mixed set of shards, naming the problem,
and writes nothing; a whole set merges."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from langadapt.cli.main import main
from langadapt.corpus.shardcheck import check_shards
from langadapt.errors import UserError

TEXT = "今天，我們去吃飯。\n春眠不覺曉，處處聞啼鳥。\n今天，我們去吃飯。\n夜來風雨聲，花落知多少。\n"


def _clean(src: Path, out: Path, shard: str, *extra: str) -> Path:
    assert main(["clean", str(src), "--out", str(out), "--preset", "zh-Hant", "--shard", shard, "--no-progress",
                 "clean.heldout_fraction=0", *extra]) == 0
    return out


@pytest.fixture(scope="module")
def parts(tmp_path_factory) -> tuple[Path, list[Path]]:
    root = tmp_path_factory.mktemp("shards")
    src = root / "in.txt"
    src.write_text(TEXT, encoding="utf-8")
    return root, [_clean(src, root / f"p{i}", f"{i}/3") for i in range(3)]


def _merge(parts: list[Path], out: Path, capsys) -> tuple[int, str]:
    code = main(["clean", "merge", *map(str, parts), "--out", str(out), "--no-progress"])
    return code, capsys.readouterr().err


def test_whole_set_merges(parts, tmp_path, capsys):
    _, dirs = parts
    code, _ = _merge([dirs[2], dirs[0], dirs[1]], tmp_path / "m", capsys)  # any order
    assert code == 0
    assert json.loads((tmp_path / "m" / "stats.json").read_text(encoding="utf-8"))["documents_in"] == 4


def test_missing_shard_is_refused(parts, tmp_path, capsys):
    _, dirs = parts
    code, err = _merge([dirs[0], dirs[2]], tmp_path / "m", capsys)
    assert code == 2 and "shard 1/3 missing (given 0/3, 2/3)" in err
    assert not (tmp_path / "m").exists()


def test_repeated_shard_is_refused(parts, tmp_path, capsys):
    root, dirs = parts
    copy = tmp_path / "p1-copy"
    shutil.copytree(dirs[1], copy)
    code, err = _merge([*dirs, copy], tmp_path / "m", capsys)
    assert code == 2 and "shard 1/3 given twice" in err and str(copy) in err
    code, err = _merge([dirs[0], dirs[1], dirs[1], dirs[2]], tmp_path / "m", capsys)
    assert code == 2 and "is given twice" in err
    assert not (tmp_path / "m").exists()


def test_shards_with_other_settings_are_refused(parts, tmp_path, capsys):
    root, dirs = parts
    other = _clean(root / "in.txt", tmp_path / "p1-other", "1/3", "clean.min_chars=3")
    code, err = _merge([dirs[0], other, dirs[2]], tmp_path / "m", capsys)
    assert code == 2 and "made with other settings" in err and "config.min_chars" in err
    assert not (tmp_path / "m").exists()


def test_mixed_splits_and_unsharded_outputs(tmp_path):
    a = {"shard": "0/2", "config": {"x": 1}}
    with pytest.raises(UserError, match="shards of different splits"):
        check_shards([tmp_path / "a", tmp_path / "b"], [a, {"shard": "1/3", "config": {"x": 1}}])
    with pytest.raises(UserError, match="not made with --shard i/N"):
        check_shards([tmp_path / "a", tmp_path / "b"], [a, {"shard": None, "config": {"x": 1}}])
    # Unsharded outputs of one config (several corpora cleaned apart) still merge.
    check_shards([tmp_path / "a", tmp_path / "b"], [{"shard": None, "config": {"x": 1}}] * 2)
