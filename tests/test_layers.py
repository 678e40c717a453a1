"""The layering of the package (docs/architecture.md): a module imports only from lower levels.

Every ``import`` and ``from ... import`` in ``optrun/`` is scanned with ``ast``, the ones inside
functions too (a lazy import is still a dependency). An import must go to a strictly lower
level, or stay inside the importing module's own package (``plots.draw`` -> ``plots.catalog``).
The module graph must have no cycle. The allowlist is empty and stays empty: a new module gets a
level in ``LEVELS`` (and in docs/architecture.md), never an exception here.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1] / "optrun"

#: level of each top-level module or package of ``optrun`` (bottom 0 to top 10)
LEVELS: dict[str, int] = {
    "errors": 0, "_text": 0, "_version": 0, "control": 0, "sampling": 0, "trace": 0,
    "sobol": 0, "stats": 0, "theory": 0, "stopping": 0,
    "schema": 1,
    "models": 2, "optim": 2, "analytic": 2, "likelihood": 2,
    "reference": 3, "data": 3, "constraints": 3, "sparse": 3,
    "config": 4, "hooks": 4, "compiled": 4,
    "grid": 5,  # the value syntax: its values are typed by config.parse_yaml, so it sits above config
    "prepare": 5, "engine": 5, "rundir": 5,
    "plots": 6, "runs": 6, "report": 6, "diff": 6, "results": 6,
    "api": 7,
    "vectorized": 7,  # stacked runs of a sweep; never imports api: callers pass its run-folder functions
    "executors": 7,  # run_all over payloads; never imports api: callers pass work functions that call api.train
    "sweep": 8, "compare": 8, "tune": 8, "rerun": 8,
    "cli": 9,
    "__init__": 10, "__main__": 10,  # the package facade and `python -m optrun`
}

ALLOWLIST: set[tuple[str, str]] = set()  # (importer, imported): stays empty


def _modules() -> dict[str, Path]:
    mods = {}
    for path in ROOT.rglob("*.py"):
        rel = path.relative_to(ROOT).with_suffix("")
        parts = list(rel.parts)
        if parts[-1] == "__init__" and len(parts) > 1:
            parts = parts[:-1]
        mods[".".join(parts)] = path
    return mods


def _resolve(name: str, mods: dict[str, Path]) -> str | None:
    """The most specific known module for a dotted name below ``optrun`` ('' = the package)."""
    parts = name.split(".")
    while parts:
        cand = ".".join(parts)
        if cand in mods:
            return cand
        parts = parts[:-1]
    return None


def _imports(mod: str, path: Path, mods: dict[str, Path]) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = mod if path.name == "__init__.py" else mod.rpartition(".")[0]
    found = set()
    for node in ast.walk(tree):
        targets = []
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative import
                base = package.split(".") if package else []
                base = base[: len(base) - (node.level - 1)] if node.level > 1 else base
                prefix = ".".join(["optrun", *base])
            else:
                prefix = node.module or ""
            if node.level and node.module:
                prefix = f"{prefix}.{node.module}"
            # `from optrun.plots import draw` names the submodule; `from optrun.plots import
            # draw_run` names the package (its __init__)
            targets = [f"{prefix}.{a.name}" if f"{prefix}.{a.name}"[len("optrun."):] in mods else prefix
                       for a in node.names]
        for t in targets:
            if t == "optrun" or not t.startswith("optrun."):
                continue
            r = _resolve(t[len("optrun."):], mods)
            if r is not None and r != mod:
                found.add(r)
    return found


def _graph() -> dict[str, set[str]]:
    mods = _modules()
    return {m: _imports(m, p, mods) for m, p in mods.items()}


def _level(mod: str) -> int:
    top = mod.split(".")[0]
    if top not in LEVELS:
        raise AssertionError(f"optrun/{top}: not in the layer map (give it a level in tests/test_layers.py "
                             "and docs/architecture.md)")
    return LEVELS[top]


def test_every_module_has_a_level():
    for mod in _modules():
        _level(mod)


def test_imports_only_go_down():
    bad = []
    for mod, deps in sorted(_graph().items()):
        for dep in sorted(deps):
            same_package = mod.split(".")[0] == dep.split(".")[0] and "." in (mod + dep)
            if same_package or (mod, dep) in ALLOWLIST:
                continue
            if _level(dep) >= _level(mod):
                bad.append(f"{mod} (level {_level(mod)}) imports {dep} (level {_level(dep)})")
    assert not bad, "upward or sideways imports:\n" + "\n".join(bad)


def test_no_import_cycles():
    graph = _graph()
    state: dict[str, int] = {}
    stack: list[str] = []
    cycles = []

    def visit(m: str) -> None:
        state[m] = 1
        stack.append(m)
        for d in sorted(graph.get(m, ())):
            if state.get(d) == 1:
                cycles.append(" -> ".join(stack[stack.index(d):] + [d]))
            elif d not in state:
                visit(d)
        stack.pop()
        state[m] = 2

    for m in sorted(graph):
        if m not in state:
            visit(m)
    assert not cycles, "import cycles:\n" + "\n".join(cycles)


def test_allowlist_is_empty():
    assert ALLOWLIST == set()


@pytest.mark.parametrize("code, expected", [
    ("from optrun.sweep import x", {"sweep"}),
    ("def f():\n    from optrun import api", {"api"}),
    ("import optrun.plots.draw", {"plots.draw"}),
])
def test_scanner_sees_imports(tmp_path, code, expected):
    """The guard itself: imports inside functions and submodule paths are seen."""
    f = tmp_path / "m.py"
    f.write_text(code)
    mods = {"sweep": f, "api": f, "plots": f, "plots.draw": f, "m": f}
    assert _imports("m", f, mods) == expected
