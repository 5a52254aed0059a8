"""bench/bench_budget.py without the pipeline: its arguments, per-budget ratios, table and chart on made-up cells."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

BENCH_DIR = Path(__file__).parents[1] / "bench"
PROSE = ["zh-tw-help", "zh-tw-man", "zh-tw-prose"]
SOURCES = {**{s: {"language": "zh-Hant", "characters": 300} for s in PROSE},
           "tang-poems": {"language": "zh-Hant", "characters": 300},
           "song-poems": {"language": "zh-Hant", "characters": 300},
           "en-prose": {"language": "en", "characters": 300}}


@pytest.fixture(scope="module")
def bench():
    sys.path.insert(0, str(BENCH_DIR))  # it imports its sibling bench_init_training, as when run as a script
    try:
        spec = importlib.util.spec_from_file_location("bench_budget", BENCH_DIR / "bench_budget.py")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        yield module
    finally:
        sys.path.remove(str(BENCH_DIR))


def _cell(after: float, *, first: bool = False, steps: int = 2) -> dict:
    """One run_cell row: its trained model scores `after` everywhere but on the man pages (twice that)."""
    by_source = {"pretrain": {**{s: after for s in SOURCES}, "zh-tw-man": 2 * after}}
    if first:  # the first cell also scored the base and the untrained extension
        by_source.update(base={s: 4.0 for s in SOURCES}, tokenizer={s: 5.0 for s in SOURCES})
    return {"cpt_tokens": 1024 * steps, "wall_s": 1.0, "pieces": 300, "heldout_sources": SOURCES,
            "heldout_bpc_by_source": by_source,
            "udhr_bpc": {m: {"zh-Hant": after + 1, "en": 1.0} for m in by_source}}


def test_arguments(bench):
    parser = bench.build_parser()
    args = parser.parse_args([])
    assert args.steps == [45, 89, 200] and args.init == ["mean"] and args.new_tokens == 2000
    assert parser.parse_args(["--steps", "200,89,89"]).steps == [89, 200]
    for bad in (["--steps", "0"], ["--steps", "many"], ["--init", "no-such-init"]):
        with pytest.raises(SystemExit):
            parser.parse_args(bad)


def test_ratios_table_and_chart(bench, tmp_path, capsys):
    pairs = [(2, _cell(3.0, first=True), _cell(2.0)), (4, _cell(2.0, steps=4), _cell(2.0, steps=4))]
    prose, base, budgets = bench.summarise_budgets(pairs)
    assert prose == PROSE
    assert base["modern prose"] == 4.0 and base["untrained extension"]["poems"] == 5.0
    first, second = budgets
    assert first["after_cpt"]["extended"]["modern prose"] == pytest.approx(4.0)  # (3 + 6 + 3) / 3: each source once
    assert first["ratio_extended_to_base_tokenizer"]["modern prose"] == pytest.approx(1.5, rel=1e-4)  # group means are rounded to 4 places
    assert first["ratio_extended_to_base_tokenizer"]["UDHR zh-Hant"] == pytest.approx(4.0 / 3.0)
    assert second["ratio_extended_to_base_tokenizer"]["zh-tw-man"] == pytest.approx(1.0)
    assert second["cpt_tokens"]["extended"] == 4096
    bench.print_table(prose, base, budgets, "mean", 300)
    out = capsys.readouterr().out
    assert "4.000 / 2.667 1.50x" in out and "6.000 / 4.000 1.50x" in out and "2.000 / 2.000 1.00x" in out
    bench.plot(prose, base, budgets, "mean", 300, tmp_path / "chart.png")
    assert (tmp_path / "chart.png").stat().st_size > 0
