"""The package's modules import each other without circles, and at module level.

The graph is read with ast from module-level imports (function bodies are left out: they run
later, when every module is complete). `from pkg import name` points at `pkg.name` when that is a
module, else at `pkg` itself (its __init__). A circle here means one module can only be imported
after another that needs it, which is what function-local imports used to hide.

An import of a langadapt module inside a function is allowed only with a reason: a `# deferred:`
comment on its line or on the line directly above (`# deferred: pulls torch`), so that what a
module needs is read at its top and what is kept off the import path of the CLI and the config
code is said where it happens.
"""

from __future__ import annotations

import ast
import io
import tokenize
from pathlib import Path

SRC = Path(__file__).parents[1] / "src"


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _top_level_imports(tree: ast.Module):
    """Import nodes run at import time: module body, and inside module-level if/try blocks (not TYPE_CHECKING)."""
    todo = list(tree.body)
    while todo:
        node = todo.pop()
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            yield node
        elif isinstance(node, ast.If):
            if "TYPE_CHECKING" not in ast.unparse(node.test):
                todo += node.body + node.orelse
        elif isinstance(node, ast.Try):
            todo += node.body + node.orelse + node.finalbody + [n for h in node.handlers for n in h.body]


def import_graph() -> dict[str, set[str]]:
    files = {_module_name(p): p for p in (SRC / "langadapt").rglob("*.py")}
    graph: dict[str, set[str]] = {name: set() for name in files}
    for name, path in files.items():
        package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
        for node in _top_level_imports(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            else:
                base = node.module or ""
                if node.level:
                    anchor = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                    base = f"{anchor}.{base}" if base else anchor
                targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in files else base for a in node.names]
            graph[name] |= {t for t in targets if t in files and t != name}
    return graph


def find_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """One circle per strongly connected component of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return cycles


def test_finds_a_circle():
    assert find_cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert find_cycles({"a": {"b"}, "b": set()}) == []


def test_no_import_circles_in_the_package():
    graph = import_graph()
    assert "langadapt.models.resolve" in graph and graph["langadapt.models.resolve"]
    assert find_cycles(graph) == []


DEFERRED = "# deferred:"


def _is_own_module(node: ast.Import | ast.ImportFrom) -> bool:
    if isinstance(node, ast.ImportFrom):
        module = node.module or ""
        return node.level > 0 or module == "langadapt" or module.startswith("langadapt.")
    return any(a.name == "langadapt" or a.name.startswith("langadapt.") for a in node.names)


def unmarked_local_imports(source: str) -> list[int]:
    """Lines of imports of langadapt modules inside a function that no `# deferred:` comment explains.

    The comment counts on any line of the import statement, or as the whole line directly above it
    or above the run of one-line imports it starts.
    """
    comments = {tok.start[0]: tok.string for tok in tokenize.generate_tokens(io.StringIO(source).readline)
                if tok.type == tokenize.COMMENT}
    lines = source.splitlines()
    found = []

    def visit(node: ast.AST, in_function: bool) -> None:
        for child in ast.iter_child_nodes(node):
            if in_function and isinstance(child, (ast.Import, ast.ImportFrom)) and _is_own_module(child):
                own_lines = range(child.lineno, (child.end_lineno or child.lineno) + 1)
                n = child.lineno - 2
                while n >= 0 and lines[n].strip().startswith(("from ", "import ")):
                    n -= 1
                above = lines[n].strip() if n >= 0 else ""
                if not (any(comments.get(n, "").startswith(DEFERRED) for n in own_lines) or above.startswith(DEFERRED)):
                    found.append(child.lineno)
            visit(child, in_function or isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)))

    visit(ast.parse(source), False)
    return found


def test_finds_an_unmarked_local_import():
    source = """
from langadapt.errors import UserError  # module level: fine


def f():
    import json
    from langadapt.paths import cache_dir
    from . import sibling
    # deferred: pulls torch
    from langadapt.train.loading import cpu_has_native_bf16
    from langadapt.train.checkpoint import save
    from langadapt.serve.engine import Engine  # deferred: pulls torch and transformers
    from langadapt.models import (  # deferred: pulls transformers
        load_model,
    )
    # pulls torch (says why, but not in the agreed form)
    import langadapt.train.checkpoint
"""
    assert unmarked_local_imports(source) == [7, 8, 17]


def test_function_local_imports_of_the_package_say_why_they_are_deferred():
    offenders = []
    for path in sorted((SRC / "langadapt").rglob("*.py")):
        for line in unmarked_local_imports(path.read_text(encoding="utf-8")):
            offenders.append(f"src/{path.relative_to(SRC).as_posix()}:{line}")
    assert offenders == [], (
        "import these at the top of the module, or keep them in the function with a `# deferred: <why>` "
        "comment (a heavy optional dependency, or a circle):\n  " + "\n  ".join(offenders))
