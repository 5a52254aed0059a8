"""Recipes: YAML in, overrides, one-line errors naming file, key path and the nearest valid key."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from langadapt.config import RecipeError, dump_recipe, load_recipe, recipe_from_dict

MINIMAL = "name: t\nbase_model: tiny-random-llama\nlanguages: [zh-Hant]\n"


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "recipe.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_typo_names_file_key_and_suggestion(tmp_path):
    path = write(tmp_path, MINIMAL + "pretrain:\n  lerning_rate: 1e-4\n")
    with pytest.raises(RecipeError) as err:
        load_recipe(path)
    assert str(err.value) == f"{path}: pretrain.lerning_rate: unknown key, did you mean learning_rate?"


def test_nested_typo_and_bad_value(tmp_path):
    path = write(tmp_path, MINIMAL + "pretrain:\n  lora:\n    rank: 8\nclean:\n  dedup:\n    threshold: high\n")
    with pytest.raises(RecipeError) as err:
        load_recipe(path)
    lines = str(err.value).splitlines()
    assert f"{path}: pretrain.lora.rank: unknown key, did you mean r?" in lines
    assert any(line.startswith(f"{path}: clean.dedup.threshold:") and "'high'" in line for line in lines)


def test_missing_required_key(tmp_path):
    path = write(tmp_path, "name: t\nlanguages: [bo]\n")
    with pytest.raises(RecipeError, match=r"base_model: required key is missing"):
        load_recipe(path)


def test_invalid_yaml_points_at_line(tmp_path):
    path = write(tmp_path, MINIMAL + "pretrain: [unclosed\n")
    with pytest.raises(RecipeError, match=r"recipe.yaml:\d+:\d+: not valid YAML"):
        load_recipe(path)


def test_overrides_types_and_lists(tmp_path):
    path = write(tmp_path, MINIMAL + "corpora:\n  - {name: a, path: a.txt}\n")
    recipe = load_recipe(path, ["pretrain.learning_rate=3e-5", "clean.dedup.near=false",
                                "eval.languages=[en, bo]", "corpora.0.weight=2", "pretrain.lora.r=8"])
    assert recipe.pretrain.learning_rate == pytest.approx(3e-5)
    assert recipe.clean.dedup.near is False
    assert recipe.eval.languages == ["en", "bo"]
    assert recipe.corpora[0].weight == 2.0
    assert recipe.pretrain.lora.r == 8
    assert recipe.base_dir == tmp_path


def test_override_errors_are_clear():
    with pytest.raises(RecipeError, match="expected key.sub=value"):
        recipe_from_dict({"name": "t", "base_model": "m", "languages": ["bo"]}, overrides=["pretrain.lr"])
    with pytest.raises(RecipeError, match="unknown key, did you mean epochs"):
        recipe_from_dict({"name": "t", "base_model": "m", "languages": ["bo"]}, "x.yaml", ["sft.epoch=2"])


def test_dump_round_trips(tmp_path):
    recipe = load_recipe(write(tmp_path, MINIMAL), ["sft.enabled=true"])
    again = load_recipe(write(tmp_path, dump_recipe(recipe)))
    assert again.model_dump() == recipe.model_dump()


def test_every_field_is_documented():
    from pydantic import BaseModel

    from langadapt.config.recipe import Recipe

    seen, todo = set(), [Recipe]
    while todo:
        model = todo.pop()
        if model in seen:
            continue
        seen.add(model)
        for name, field in model.model_fields.items():
            assert field.description, f"{model.__name__}.{name} has no description"
            for arg in [field.annotation, *getattr(field.annotation, "__args__", ())]:
                for inner in [arg, *getattr(arg, "__args__", ())]:
                    if isinstance(inner, type) and issubclass(inner, BaseModel):
                        todo.append(inner)


def test_cli_prints_one_line_error_without_traceback(tmp_path):
    path = write(tmp_path, MINIMAL + "pretrain:\n  lerning_rate: 1e-4\n")
    proc = subprocess.run([sys.executable, "-m", "langadapt", "run", str(path), "--dry-run"],
                          capture_output=True, text=True)
    assert proc.returncode == 2
    assert proc.stderr.strip() == f"langadapt: error: {path}: pretrain.lerning_rate: unknown key, did you mean learning_rate?"
    assert "Traceback" not in proc.stderr


def test_recipe_reference_is_up_to_date():
    from langadapt.config.reference import markdown

    doc = Path(__file__).parents[1] / "docs" / "recipe-reference.md"
    assert doc.read_text(encoding="utf-8").strip() == markdown().strip(), \
        "regenerate: python -m langadapt.config.reference > docs/recipe-reference.md"


def test_packaged_demo_recipe_matches_repo_copy():
    from langadapt.pipeline.demo import demo_recipe_path

    repo = Path(__file__).parents[1] / "recipes" / "demo-zh-tw.yaml"
    assert demo_recipe_path().read_text(encoding="utf-8") == repo.read_text(encoding="utf-8")


def test_every_recipe_starts_with_its_command():
    for path in sorted((Path(__file__).parents[1] / "recipes").glob("*.yaml")):
        first = path.read_text(encoding="utf-8").splitlines()[0]
        assert first.startswith(f"# langadapt run recipes/{path.name}"), path.name
        load_recipe(path)
