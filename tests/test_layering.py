"""Imports point down (sandboxes <- verifiers <- tasks <- rewards <- trainer), and the lower layers stay light."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LAYERS = ["sandboxes", "verifiers", "tasks", "rewards", "trainer"]
HEAVY = ("ray", "torch", "trl", "transformers", "vllm", "datasets")
RAY_PREFIX = "verifiers.ray_"
"""The Ray pool and its transports (``verifiers/ray_*.py``): may import ray, still never torch or TRL."""


def modules_of(package: str) -> list[str]:
    """Every module of ``package``, by dotted name, from its files."""
    out = []
    for path in sorted((ROOT / package).rglob("*.py")):
        parts = path.relative_to(ROOT).with_suffix("").parts
        out.append(".".join(parts[:-1] if parts[-1] == "__init__" else parts))
    return out


def imported_packages(path: Path) -> set[str]:
    """Top-level names imported anywhere in a file (module level or inside functions)."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def imported_modules(module: str, path: Path, known: set[str]) -> set[str]:
    """Modules of ``known`` that one file imports anywhere (``from a import b`` names ``a.b`` when it is a module)."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    out = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            out.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*parts, base] if base else parts)
            out.update(f"{base}.{a.name}" if f"{base}.{a.name}" in known else base for a in node.names)
    return (out & known) - {module}


def import_circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Every group of two or more modules that import each other round a loop (Tarjan's components)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    circles = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = stack[stack.index(v):]
            del stack[stack.index(v):]
            if len(group) > 1:
                circles.append(sorted(group))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return circles


def test_no_import_circles():
    """No modules import each other round a loop, counting imports inside functions (e.g. config <-> schema)."""
    paths = {}
    for package in LAYERS:
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = path.relative_to(ROOT).with_suffix("").parts
            paths[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    graph = {m: imported_modules(m, p, set(paths)) for m, p in paths.items()}
    assert import_circles(graph) == []


def test_import_circles_are_found():
    assert import_circles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert import_circles({"a": {"b"}, "b": set()}) == []


@pytest.mark.parametrize("layer", LAYERS)
def test_no_import_runs_back_up(layer):
    higher = set(LAYERS[LAYERS.index(layer) + 1:])
    offenders = {str(p.relative_to(ROOT)): sorted(imported_packages(p) & higher)
                 for p in (ROOT / layer).rglob("*.py") if imported_packages(p) & higher}
    assert not offenders, f"{layer} imports from the layers above it: {offenders}"


@pytest.mark.parametrize("package", ["sandboxes", "verifiers", "tasks"])
def test_lower_layers_pull_in_no_heavy_runtime(package):
    """Each module, imported in a fresh interpreter, loads no ray, torch or TRL (the Ray transport: no torch/TRL)."""
    script = (
        "import importlib, json, sys\n"
        f"heavy = {HEAVY!r}\n"
        "out = {}\n"
        "for name in json.loads(sys.argv[1]):\n"
        "    importlib.import_module(name)\n"
        "    out[name] = sorted(k for k in heavy if k in sys.modules)\n"
        "print(json.dumps(out))\n"
    )
    names = sorted(modules_of(package), key=lambda m: m.startswith(RAY_PREFIX))  # the Ray modules last
    proc = subprocess.run([sys.executable, "-c", script, json.dumps(names)], cwd=ROOT, capture_output=True,
                          text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    loaded = json.loads(proc.stdout.strip().splitlines()[-1])
    bad = {name: got for name, got in loaded.items()
           if (set(got) - {"ray"} if name.startswith(RAY_PREFIX) else set(got))}
    # Modules are imported in order, so a heavy import shows up first at the module that caused it.
    first = next(iter(bad.items()), None)
    assert first is None, f"{first[0]} pulls in {first[1]}"
