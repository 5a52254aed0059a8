"""Print the bench/gpu results as one markdown table (bench/gpu_check.sh calls it last).

    python bench/gpu/table.py gpu-check-results/
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

ORDER = ["train_full", "train_lora", "train_qlora", "flash_packed", "load_8bit", "load_4bit", "fsdp_1proc", "vllm_serve"]


def main(folder: Path) -> int:
    records = {p.stem: json.loads(p.read_text()) for p in folder.glob("*.json")}
    names = [n for n in ORDER if n in records] + sorted(set(records) - set(ORDER))
    print("| check | status | seconds | figures | note |")
    print("|---|---|---:|---|---|")
    for name in names:
        r = records[name]
        figures = ", ".join(f"{k} {v}" for k, v in (r.get("figures") or {}).items())
        note = str(r.get("note", "")).replace("|", "/").replace("\n", " ")
        print(f"| {name} | {r.get('status')} | {r.get('seconds', '')} | {figures} | {note} |")
    return 0 if all(records[n].get("status") != "fail" for n in names) else 1


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1] if len(sys.argv) > 1 else "gpu-check-results")))
