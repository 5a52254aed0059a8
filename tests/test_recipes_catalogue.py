"""`langadapt recipes list | show | cp`: the seed recipes ship in the package, identical to recipes/.

    .venv/bin/pytest tests/test_recipes_catalogue.py -x -q
"""

from __future__ import annotations

from pathlib import Path

import pytest

from langadapt.cli.main import main
from langadapt.config import load_recipe
from langadapt.config.catalogue import catalogue_dir, list_recipes

REPO_RECIPES = Path(__file__).resolve().parent.parent / "recipes"


def test_package_copies_equal_repository_recipes():
    repo = {p.name: p.read_bytes() for p in REPO_RECIPES.glob("*.yaml")}
    shipped = {p.name: p.read_bytes() for p in catalogue_dir().glob("*.yaml")}
    assert len(repo) >= 7
    # A recipe edited in one place only would ship stale: `cp recipes/*.yaml src/langadapt/assets/recipes/`.
    assert shipped == repo


def test_list_shows_every_recipe(capsys):
    assert main(["recipes", "list"]) == 0
    out = capsys.readouterr().out
    for entry in list_recipes():
        assert entry.name in out
    assert "tibetan-llama2-7b" in out and "[bo]" in out and "facebook/xglm-7.5B" in out


def test_show_prints_the_yaml(capsys):
    assert main(["recipes", "show", "wangchanglm-7.5b"]) == 0
    assert capsys.readouterr().out == (REPO_RECIPES / "wangchanglm-7.5b.yaml").read_text(encoding="utf-8")


def test_unknown_name_suggests_the_close_one(capsys):
    assert main(["recipes", "show", "tibetan-llama-7b"]) == 2
    err = capsys.readouterr().err
    assert "did you mean tibetan-llama2-7b" in err


def test_cp_to_folder_and_file_then_runs_dry(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.chdir(tmp_path)
    assert main(["recipes", "cp", "tibetan-llama2-7b", str(tmp_path)]) == 0
    copied = tmp_path / "tibetan-llama2-7b.yaml"
    assert load_recipe(copied).name == "tibetan-llama2-7b"
    assert main(["recipes", "cp", "demo-zh-tw.yaml", str(tmp_path / "sub" / "mine.yaml")]) == 0
    assert (tmp_path / "sub" / "mine.yaml").read_bytes() == (catalogue_dir() / "demo-zh-tw.yaml").read_bytes()
    capsys.readouterr()
    assert main(["run", str(copied), "--dry-run"]) == 0
    assert "stages:" in capsys.readouterr().out


def test_cp_never_overwrites_without_force(tmp_path, capsys):
    target = tmp_path / "mine.yaml"
    target.write_text("name: edited by hand\n", encoding="utf-8")
    assert main(["recipes", "cp", "demo-zh-tw", str(target)]) == 2
    assert "already exists" in capsys.readouterr().err
    assert target.read_text(encoding="utf-8") == "name: edited by hand\n"
    assert main(["recipes", "cp", "demo-zh-tw", str(target), "--force"]) == 0
    assert target.read_bytes() == (catalogue_dir() / "demo-zh-tw.yaml").read_bytes()


@pytest.mark.parametrize("entry", list_recipes(), ids=lambda e: e.name)
def test_every_shipped_recipe_loads(entry):
    assert load_recipe(entry.path).name == entry.name
