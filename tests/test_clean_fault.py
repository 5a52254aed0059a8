"""Fault suite for `clean`: hostile records, compressed and broken inputs, a killed worker.

Every test checks the ledger: input = kept + rejected, with each reject's reason, and nothing lost.
"""

from __future__ import annotations

import bz2
import gzip
import json
import lzma
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import zstandard

from langadapt.config.clean import CleanConfig
from langadapt.config.corpus import CorpusSpec
from langadapt.corpus.stage import clean_files

pytestmark = pytest.mark.fault

COMPRESS = {
    ".gz": gzip.compress,
    ".zst": lambda b: zstandard.ZstdCompressor(write_checksum=True).compress(b),
    ".bz2": bz2.compress,
    ".xz": lambda b: lzma.compress(b, preset=1),
}


def _config(**kw) -> CleanConfig:
    base = dict(max_record_bytes=1 << 20, heldout_fraction=0.0, preset="generic")
    base.update(kw)
    return CleanConfig(**base)


def _run(path: Path, out: Path, **kw) -> tuple[dict, list[dict], list[dict]]:
    stats = clean_files([CorpusSpec(name="in", path=str(path), **kw)], _config(), out, progress=False)
    kept = [json.loads(line) for p in sorted((out / "corpus").glob("*.jsonl")) for line in p.open(encoding="utf-8")]
    rejects = [json.loads(line) for line in (out / "rejects.jsonl").open(encoding="utf-8")]
    assert stats["documents_in"] == stats["documents_kept"] + stats["documents_rejected"] == len(kept) + len(rejects)
    assert stats["invariant_ok"]
    return stats, kept, rejects


HOSTILE = [
    ('{"text": "a good record"}', None),
    ('{"text": "lone surrogate \\ud800 here"}', "unencodable"),
    ('{"text": "fine text", "author": "\\udfff"}', "unencodable"),
    ('{"text": "big", "n": ' + "7" * 5000 + "}", "invalid_json"),
    ("[" * 100_000 + "]" * 100_000, "invalid_json"),
    ('{"text": "deep", "m": ' + "[" * 5000 + "]" * 5000 + "}", "invalid_json"),
    ('{"text": "not a number", "x": NaN}', None),  # Python's parser takes NaN; the record is written as it came
    ('{"text": "another good record"}', None),
]


def test_hostile_records_end_in_rejects_with_their_reason(tmp_path):
    path = tmp_path / "hostile.jsonl"
    path.write_text("\n".join(line for line, _ in HOSTILE) + "\n", encoding="utf-8")
    stats, kept, rejects = _run(path, tmp_path / "out")
    assert stats["documents_in"] == len(HOSTILE)
    by_ordinal = {r["ordinal"]: r for r in rejects}
    for i, (line, fate) in enumerate(HOSTILE):
        if fate is None:
            assert i not in by_ordinal
        else:
            assert by_ordinal[i]["reason"] == fate, by_ordinal[i]
            assert by_ordinal[i]["record"] == line  # the original record survives exactly
    assert "lone surrogate U+D800" in by_ordinal[1]["detail"]
    assert "4300 digits" in by_ordinal[3]["detail"] and "too deeply" in by_ordinal[4]["detail"]
    assert sorted(d["text"] for d in kept) == ["a good record", "another good record", "not a number"]


def test_hostile_whole_json_files(tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "a.json").write_text('[{"text": "kept one"}, {"text": "bad \\ud800"}]', encoding="utf-8")
    (folder / "b.json").write_text('{"text": "x", "n": ' + "1" * 5000 + "}", encoding="utf-8")
    (folder / "c.json").write_text("[" * 100_000 + "]" * 100_000, encoding="utf-8")
    stats, kept, rejects = _run(folder, tmp_path / "out")
    assert [d["text"] for d in kept] == ["kept one"]
    assert sorted(r["reason"] for r in rejects) == ["invalid_json", "invalid_json", "unencodable"]
    # a row parsed by the reader keeps its lone surrogate in the ledger, escaped as it was in the input
    ledger_text = (tmp_path / "out" / "rejects.jsonl").read_text(encoding="utf-8")
    assert "bad \\ud800" in ledger_text


@pytest.mark.parametrize("suffix", sorted(COMPRESS))
def test_compressed_inputs_given_directly_and_in_folders(tmp_path, suffix):
    lines = [json.dumps({"text": f"記錄 {i}，第{i}行"}, ensure_ascii=False) for i in range(50)]
    plain = "\n".join(lines).encode("utf-8") + b"\n"
    _, expected, _ = _run(_write(tmp_path / "plain.jsonl", plain), tmp_path / "out-plain")

    direct = _write(tmp_path / f"direct.jsonl{suffix}", COMPRESS[suffix](plain))
    _, kept, rejects = _run(direct, tmp_path / "out-direct")
    assert [d["text"] for d in kept] == [d["text"] for d in expected] and not rejects

    folder = tmp_path / "folder"
    _write(folder / f"part.jsonl{suffix}", COMPRESS[suffix](plain))
    _write(folder / f"notes.txt{suffix}", COMPRESS[suffix]("一行文字\n另一行\n".encode("utf-8")))
    stats, kept, rejects = _run(folder, tmp_path / "out-folder")
    assert stats["documents_in"] == 52 and not rejects
    assert {d["text"] for d in kept} == {d["text"] for d in expected} | {"一行文字", "另一行"}

    misnamed = _write(tmp_path / "misnamed.jsonl", COMPRESS[suffix](plain))  # the bytes say what it is, not the name
    _, kept, rejects = _run(misnamed, tmp_path / "out-misnamed")
    assert len(kept) == 50 and not rejects


@pytest.mark.parametrize("suffix", sorted(COMPRESS))
def test_truncated_compressed_input_keeps_what_it_can_and_says_where(tmp_path, suffix):
    plain = b"".join(json.dumps({"text": f"record {i} " + os.urandom(40).hex()}).encode() + b"\n" for i in range(20000))  # > one 900 kB bz2 block
    data = COMPRESS[suffix](plain)
    path = _write(tmp_path / f"cut.jsonl{suffix}", data[: len(data) * 2 // 3])
    stats, kept, rejects = _run(path, tmp_path / "out")
    assert 0 < len(kept) < 20000
    assert [r["reason"] for r in rejects] == ["corrupt_file"]
    assert f"after record cut.jsonl{suffix}:{len(kept)}" in rejects[0]["detail"]
    assert [d["text"] for d in kept] == [json.loads(line)["text"] for line in plain.splitlines()[: len(kept)]]


def test_compressed_parquet_and_broken_parquet_are_rejects_not_crashes(tmp_path):
    folder = tmp_path / "in"
    _write(folder / "a.parquet", b"PAR1 this is not really parquet")
    _write(folder / "b.jsonl", b'{"text": "still kept"}\n')
    stats, kept, rejects = _run(folder, tmp_path / "out")
    assert [d["text"] for d in kept] == ["still kept"]
    assert [r["reason"] for r in rejects] == ["corrupt_file"] and "Parquet" in rejects[0]["detail"]


def _write(path: Path, data: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def _workers(pid: int) -> list[int]:
    """Forked pool workers of `pid`: its children that run its own command line."""
    own = Path(f"/proc/{pid}/cmdline").read_bytes()
    found = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        for child in (task / "children").read_text().split():
            try:
                if Path(f"/proc/{child}/cmdline").read_bytes() == own:
                    found.append(int(child))
            except OSError:
                pass
    return found


@pytest.mark.skipif(not Path("/proc/self/task").exists() or sys.platform != "linux", reason="needs Linux /proc")
def test_killed_worker_ends_the_run_with_an_error(tmp_path):
    """A never-ending input keeps the workers busy; SIGKILL one: the run must stop with a clear error, not hang."""
    fifo = tmp_path / "endless.jsonl"
    os.mkfifo(fifo)
    out = tmp_path / "out"
    out.mkdir()
    (out / "keep.txt").write_text("an earlier file\n")
    proc = subprocess.Popen([sys.executable, "-m", "langadapt", "clean", str(fifo), "--out", str(out), "--workers", "2",
                             "--no-progress", "--chunk-size", "64", "--preset", "generic"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    stop = threading.Event()

    def feed() -> None:
        line = (json.dumps({"text": "一段不會結束的輸入 " * 20}, ensure_ascii=False) + "\n").encode()
        try:
            with open(fifo, "wb") as fh:
                i = 0
                while not stop.is_set():
                    fh.write(line.replace(b"\xe8\xbc\xb8", str(i).encode()))  # distinct records, no dedup shortcut
                    i += 1
        except (BrokenPipeError, OSError):
            pass

    feeder = threading.Thread(target=feed, daemon=True)
    feeder.start()
    try:
        deadline = time.monotonic() + 300  # generous: a shared CI machine can be slow to import and fork
        workers: list[int] = []
        while time.monotonic() < deadline and len(workers) < 2:
            assert proc.poll() is None, proc.communicate()
            workers = _workers(proc.pid)
            time.sleep(0.2)
        assert len(workers) >= 2, "the worker processes never started"
        time.sleep(1.0)  # let them take chunks
        os.kill(workers[0], signal.SIGKILL)
        _, err = proc.communicate(timeout=300)  # before the fix this waited forever
    finally:
        stop.set()
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode != 0
    assert "worker process died" in err and "SIGKILL" in err, err
    assert "Traceback" not in err
    # nothing half-written was published; the earlier content is untouched
    assert sorted(p.name for p in out.iterdir()) == ["keep.txt"]


def test_shards_and_merge_keep_a_lone_surrogate_in_the_ledger(tmp_path):
    from langadapt.corpus.merge import merge

    folder = tmp_path / "in"
    rows = [{"text": f"doc {i}"} for i in range(6)]
    text = json.dumps(rows)[:-1] + ', {"text": "bad \\udc00 row"}]'
    _write(folder / "a.json", text.encode())
    outs = []
    for i in range(2):
        out = tmp_path / f"part{i}"
        clean_files([CorpusSpec(name="in", path=str(folder))], _config(), out, shard=(i, 2), progress=False)
        outs.append(out)
    stats = merge(outs, tmp_path / "merged", progress=False)
    assert stats["invariant_ok"] and stats["documents_in"] == 7 and stats["documents_rejected"] == 1
    [entry] = [json.loads(line) for line in (tmp_path / "merged" / "rejects.jsonl").open(encoding="utf-8")]
    assert entry["reason"] == "unencodable" and entry["record"] == {"text": "bad \udc00 row"}


def test_cli_warns_when_a_file_breaks_off(tmp_path):
    plain = b"".join(json.dumps({"text": f"line {i} " + os.urandom(30).hex()}).encode() + b"\n" for i in range(2000))
    data = gzip.compress(plain)
    path = _write(tmp_path / "cut.jsonl.gz", data[: len(data) // 2])
    run = subprocess.run([sys.executable, "-m", "langadapt", "clean", str(path), "--out", str(tmp_path / "out"),
                          "--no-progress", "--preset", "generic"], capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    assert "(ok)" in run.stdout and "1 input file(s) could not be read to the end" in run.stdout
