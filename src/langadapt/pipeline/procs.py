"""The processes of one `langadapt run` under `accelerate launch` (or torchrun): who does what, and how the others wait.

    accelerate launch --config_file configs/accelerate/cpu-2proc.yaml -m langadapt run recipe.yaml

    procs = Procs.start(run_root)          # one process: is_main, nothing to wait for
    if procs.is_main: procs.publish("plan", {...})
    else: plan = procs.receive("plan")

The main process plans the run, prepares every stage folder and runs the stages that do not
train (clean, tokenizer, eval, export); training stages run on every process. The others wait
for the main process's word at each step.

Why files and not a collective barrier: a clean stage over tens of GB can take hours, and a
gloo or NCCL barrier gives up after its timeout (30 minutes by default), killing the run. So the
only collective is one broadcast at start, of a fresh token naming this run's message folder
(`<run>/.procs/<token>/`, so a stale message of an earlier run is never read); after that the
main process writes small JSON messages atomically and the others poll for them. The run folder
must be shared by the processes, as the trainer's checkpoints already require.
"""

from __future__ import annotations

import os
import shutil
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from langadapt.atomic import read_json, write_json
from langadapt.errors import UserError

POLL_S = 0.5


def world_size() -> int:
    try:
        return int(os.environ.get("WORLD_SIZE", "1"))
    except ValueError:
        return 1


def is_main_env() -> bool:
    """True in a single process and on rank 0 of a launched group (read from the launcher's environment)."""
    return world_size() <= 1 or os.environ.get("RANK", "0") == "0"


@dataclass
class Procs:
    rank: int = 0
    world: int = 1
    folder: Path | None = None

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @classmethod
    def start(cls, run_root: Path) -> "Procs":
        if world_size() <= 1:
            return cls()
        # The process group accelerate sets up is the one the trainer's Accelerator reuses later.
        from accelerate import PartialState
        from accelerate.utils import broadcast_object_list

        import torch

        # The same choice as the trainer's Accelerator: the state is shared, the first one decides.
        state = PartialState(cpu=not torch.cuda.is_available())
        if state.num_processes <= 1:
            return cls()
        token = [uuid.uuid4().hex[:12] if state.is_main_process else None]
        broadcast_object_list(token, from_process=0)
        root = Path(run_root) / ".procs"
        if state.is_main_process and root.is_dir():
            for old in root.iterdir():  # messages of earlier runs
                shutil.rmtree(old, ignore_errors=True)
        return cls(state.process_index, state.num_processes, root / token[0])

    def publish(self, name: str, data: Any) -> None:
        """Main process: tell the others (no-op in a single process)."""
        if self.folder is not None and self.is_main:
            write_json(self.folder / f"{name}.json", {"data": data})

    def fail(self, name: str, message: str) -> None:
        """Main process: tell the others that `name` will never come, and why."""
        if self.folder is not None and self.is_main:
            write_json(self.folder / f"{name}.json", {"error": message})

    def receive(self, name: str) -> Any:
        """Other processes: wait for the main process's message `name` (a failure there raises here)."""
        path = self.folder / f"{name}.json"
        while True:
            msg = read_json(path)
            if isinstance(msg, dict):
                if "error" in msg:
                    raise UserError(f"process {self.rank}: the main process failed ({name}): {msg['error']}")
                return msg["data"]
            time.sleep(POLL_S)
