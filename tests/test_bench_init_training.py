"""bench/bench_init_training.py without the pipeline: its arguments, groups, table and chart on made-up manifests."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from langadapt.tokenizer import inits

BENCH = Path(__file__).parents[1] / "bench" / "bench_init_training.py"
PROSE = ["zh-tw-help", "zh-tw-man", "zh-tw-prose"]


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("bench_init_training", BENCH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_arguments(bench):
    parser = bench.build_parser()
    args = parser.parse_args([])
    assert args.inits is None and args.new_tokens == [1000, 4000, 8000, "auto"] and args.steps == 40 and args.baseline
    assert not parser.parse_args(["--no-baseline"]).baseline
    assert parser.parse_args(["--inits", ",".join(inits.names())]).inits == inits.names()
    assert parser.parse_args(["--new-tokens", "300,auto"]).new_tokens == [300, "auto"]
    for bad in (["--inits", "no-such-init"], ["--new-tokens", "300,lots"], ["--new-tokens", "0"]):
        with pytest.raises(SystemExit):
            parser.parse_args(bad)


def _row(init, size, pieces, scale):
    sources = {**{s: {"language": "zh-Hant", "characters": 300} for s in PROSE},
               "tang-poems": {"language": "zh-Hant", "characters": 300},
               "song-poems": {"language": "zh-Hant", "characters": 300},
               "en-prose": {"language": "en", "characters": 300}}
    by_source = {"tokenizer": {s: 4.0 * scale for s in sources}, "pretrain": {s: 3.0 * scale for s in sources}}
    by_source["base"] = {**{s: 4.0 for s in sources}, "zh-tw-help": 2.0}
    return {"init": init, "new_tokens": size, "pieces": pieces, "cpt_tokens": 2048, "steps": 2,
            "tokens_per_char_by_source": {"base": {s: 1.0 for s in sources}, "extended": {s: 0.5 for s in sources}},
            "heldout_bpc_by_source": by_source, "heldout_sources": sources,
            "udhr_bpc": {m: {"zh-Hant": 5.0, "en": 2.0} for m in ("base", "tokenizer", "pretrain")}}


def _baseline_row(label):
    """The no-extension cell: eval scored only its trained model (no tokenizer stage, no base column)."""
    row = _row(label, 0, 0, 0.8)
    row["heldout_bpc_by_source"] = {"pretrain": row["heldout_bpc_by_source"]["pretrain"]}
    row["udhr_bpc"] = {"pretrain": {"zh-Hant": 4.5, "en": 1.9}}
    row["tokens_per_char_by_source"] = {"base": None, "extended": None}
    return row


def test_groups_table_and_chart(bench, tmp_path, capsys):
    assert bench.NO_EXTENSION == "base tokenizer"
    rows = [_row("mean", 300, 300, 1.0), _row("mean", "auto", 12, 1.5), _baseline_row(bench.NO_EXTENSION)]
    prose, base = bench.summarise_rows(rows)
    assert prose == PROSE
    assert base["modern prose"] == pytest.approx((2.0 + 4.0 + 4.0) / 3, abs=1e-4)  # simple mean, each source once
    assert base["poems"] == 4.0 and base["UDHR zh-Hant"] == 5.0 and base["UDHR en"] == 2.0
    assert base["tokens_per_char"] == 1.0
    assert rows[0]["tokens_per_char_prose"] == 0.5 and rows[0]["after_cpt"]["poems"] == 3.0
    # the baseline: "right after extension" is the base itself, its tokens per character the base's
    baseline = rows[2]
    assert baseline["extended"]["modern prose"] == base["modern prose"] and baseline["tokens_per_char_prose"] == 1.0
    assert baseline["after_cpt"]["poems"] == pytest.approx(2.4) and baseline["after_cpt"]["UDHR en"] == 1.9
    assert baseline["ratio_to_base"]["after_cpt"]["UDHR zh-Hant"] == pytest.approx(0.9)
    bench.print_table(rows, base, PROSE, 2)
    out = capsys.readouterr().out
    assert "auto 12" in out and "0.500 0.50x" in out and "6.000 1.50x" in out and "base tokenizer" in out
    bench.plot(rows, base, [300, "auto"], tmp_path / "chart.png")
    assert (tmp_path / "chart.png").stat().st_size > 0
