"""Startup stays cheap: building the CLI (`langadapt --help`, and the start of every command) and reading
the config load no stage code and no heavy library; the registries answer names without importing
their entries, and every deferred entry resolves to the object of its name.

bench/bench_versions.py times this against the version before the registries; these tests keep
the reasons it is fast from coming back one import at a time.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

from langadapt.corpus import filters, normalize
from langadapt.errors import UserError
from langadapt.registry import Registry
from langadapt.tokenizer import inits
from langadapt.train import methods

# Loaded by a command that runs, never by building its parser or reading a recipe.
HEAVY = ("numpy", "pangu", "opencc", "torch", "transformers", "matplotlib", "rich", "tqdm", "datasketch", "yaml",
         "langadapt.stages", "langadapt.results", "langadapt.pipeline.inputs", "langadapt.rundir", "langadapt.data.doc_tasks",
         "langadapt.corpus.normalize.spacing", "langadapt.corpus.normalize.punctuation",
         "langadapt.corpus.filters.simplified", "langadapt.corpus.filters.script",
         "langadapt.tokenizer.inits.fitted", "langadapt.tokenizer.calibrate", "langadapt.train.methods.lora")


def _loaded_after(code: str) -> set[str]:
    out = subprocess.run([sys.executable, "-c", f"import sys\n{code}\nprint('\\n'.join(sys.modules))"],
                         capture_output=True, text=True, check=True).stdout
    return set(out.split())


@pytest.mark.parametrize("code", ["from langadapt.cli.main import build_parser; build_parser()",
                                  "import langadapt.config"])
def test_parser_and_config_load_no_stage_code(code):
    assert sorted(m for m in _loaded_after(code) if m in HEAVY) == []


@pytest.mark.parametrize("registry", [filters._REGISTRY, normalize._REGISTRY, inits._REGISTRY, methods._REGISTRY],
                         ids=["filters", "normalisers", "inits", "methods"])
def test_every_shipped_entry_resolves_to_the_object_of_its_name(registry):
    assert registry.names()
    for name in registry.names():
        assert registry.get(name).name == name
        assert registry.get(name) is registry.get(name)  # imported once, then the object itself


class _Thing:
    name = "length"


def test_deferred_entries():
    reg: Registry = Registry("thing")
    reg.register_deferred("length", "langadapt.corpus.filters.length:LengthFilter")
    reg.register_deferred("wrong", "langadapt.corpus.filters.length:LengthFilter")
    assert reg.names() == ["length", "wrong"] and "length" in reg
    with pytest.raises(ValueError, match="already registered"):
        reg.register(_Thing())
    with pytest.raises(ValueError, match="already registered"):
        reg.register_deferred("length", "x:y")
    with pytest.raises(ValueError, match="module:attribute"):
        reg.register_deferred("other", "x.y")
    with pytest.raises(ValueError, match="is named 'length'"):
        reg.get("wrong")
    assert reg.unregister("length").__name__ == "LengthFilter" and reg.find("length") is None
    with pytest.raises(UserError, match="unknown thing 'length'"):
        reg.get("length")
