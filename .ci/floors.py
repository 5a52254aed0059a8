"""Print a pip constraints file pinning every runtime dependency of pyproject.toml to its floor.

    python .ci/floors.py > /tmp/floors.txt && pip install -c /tmp/floors.txt -e .

Used by .ci/floors.sh, which installs the floors into a second venv and runs the fast tests, so a
floor in pyproject.toml is a version the code was tested with, not a guess. torch is left out: the
floor venv uses the CPU build of constraints.txt (torch's floor is read from the code, not installed,
because an old CPU wheel is not on the index and the default wheel carries the CUDA libraries).
"""

from __future__ import annotations

import re
import sys
import tomllib
from pathlib import Path

SKIP = {"torch"}


def floors(pyproject: Path) -> dict[str, str]:
    project = tomllib.loads(pyproject.read_text(encoding="utf-8"))["project"]
    found: dict[str, str] = {}
    for spec in project["dependencies"]:
        match = re.fullmatch(r"\s*([A-Za-z0-9_.\-]+)(\[[^\]]*\])?\s*>=\s*([0-9][^,;\s]*)\s*(?:,.*)?", spec)
        if not match:
            raise SystemExit(f"floors: dependency {spec!r} has no `>=` floor; every runtime dependency needs one")
        name = match.group(1).lower()
        if name not in SKIP:
            found[name] = match.group(3)
    return found


def _release(version: str) -> tuple[int, ...]:
    parts = [int(x) for x in re.findall(r"\d+", version.split("+")[0])[:4]]
    return tuple(parts + [0] * (4 - len(parts)))


def check(pins: Path) -> None:
    """The installed versions are the pinned floors (a transitive requirement may not lift one)."""
    import importlib.metadata as md

    wanted = dict(line.strip().split("==") for line in pins.read_text().splitlines() if "==" in line)
    bad = [f"{n} {md.version(n)} (floor {v})" for n, v in wanted.items() if _release(md.version(n)) != _release(v)]
    if bad:
        raise SystemExit("floors: installed versions are not the floors: " + ", ".join(bad))
    print("floors installed:", " ".join(f"{n}=={v}" for n, v in wanted.items()))


# Extras the floor venv does not install: a module that needs one is skipped, any other failure counts.
OPTIONAL = {"gradio", "vllm", "bitsandbytes", "ray", "pythainlp", "lm_eval", "tensorboard", "wandb", "mlflow",
            "trackio", "huggingface_hub", "selenium", "openai", "flash_attn", "llama_cpp"}


def import_all() -> None:
    """Import every module of the package: module-level API use (e.g. a class that older releases of
    a dependency lack) fails here even where no test reaches it."""
    import importlib
    import pkgutil

    import langadapt

    skipped = []
    for info in pkgutil.walk_packages(langadapt.__path__, "langadapt."):
        if info.name.endswith("__main__"):
            continue
        try:
            importlib.import_module(info.name)
        except ModuleNotFoundError as exc:
            if (exc.name or "").split(".")[0] not in OPTIONAL:
                raise
            skipped.append(f"{info.name} (needs {exc.name})")
    print("floors: every module imports" + (f"; skipped {', '.join(skipped)}" if skipped else ""))


if __name__ == "__main__":
    if sys.argv[1:2] == ["--check"]:
        check(Path(sys.argv[2]))
    elif sys.argv[1:2] == ["--import-all"]:
        import_all()
    else:
        root = Path(__file__).resolve().parent.parent
        for name, version in floors(root / "pyproject.toml").items():
            print(f"{name}=={version}")
