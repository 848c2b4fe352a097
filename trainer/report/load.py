"""Finding run directories and reading them tolerantly: runs may be in progress, torn, corrupt or empty.

Nothing here raises on bad run data; every problem becomes a warning string on the :class:`Run`.
"""

from __future__ import annotations

import json
import math
import numbers
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from trainer.collapse import collapse_from_metrics
from trainer.rundir import scan_metrics

SKIP_DIRS = {"checkpoints", "tensorboard", ".hydra", "__pycache__"}
"""Folders inside a run that never hold another run; not searched."""
SEED_RE = re.compile(r"^(?P<method>.+?)[-_]seed[-_]?(?P<seed>\d+)$")


@dataclass
class Run:
    """One run directory as read: its identity, its metrics records, its collapse record, and what was wrong."""

    path: Path
    method: str
    seed: int | None
    task: str
    model: str
    records: list[dict[str, Any]] = field(default_factory=list)
    collapse: dict[str, Any] | None = None
    collapse_recomputed: bool = False
    warnings: list[str] = field(default_factory=list)

    @property
    def label(self) -> str:
        return f"{self.method} seed {self.seed}" if self.seed is not None else f"{self.method} ({self.path.name})"

    def series(self, key: str) -> tuple[list[int], list[float]]:
        """Steps and finite values of one metric; steps without it are left out."""
        steps, values = [], []
        for r in self.records:
            v = finite(r.get(key))
            if v is not None:
                steps.append(r["step"])
                values.append(v)
        return steps, values

    def has(self, key: str) -> bool:
        return any(finite(r.get(key)) is not None for r in self.records)


def finite(x: Any) -> float | None:
    """A finite float, or None for missing, None, NaN, bool or non-numeric values."""
    if isinstance(x, bool) or not isinstance(x, numbers.Real) or not math.isfinite(x):
        return None
    return float(x)


def find_run_dirs(paths: Iterable[str | Path]) -> tuple[list[Path], list[str]]:
    """Run directories at or under ``paths`` (a folder with metrics.jsonl or config.yaml), and warnings.

    A given folder that is empty counts as a run that has not written anything yet.
    """
    found: list[Path] = []
    warnings: list[str] = []
    for p in map(Path, paths):
        if not p.is_dir():
            warnings.append(f"{p}: not a directory; skipped")
            continue
        below = sorted(_walk(p))
        if below:
            found.extend(below)
        elif not any(p.iterdir()):
            found.append(p)
        else:
            warnings.append(f"{p}: no run directories (metrics.jsonl or config.yaml) found under it")
    unique = list(dict.fromkeys(d.resolve() for d in found))
    return unique, warnings


def _walk(root: Path) -> Iterable[Path]:
    if (root / "metrics.jsonl").is_file() or (root / "config.yaml").is_file():
        yield root
        return  # a run does not nest runs
    for child in sorted(root.iterdir()):
        if child.is_dir() and not child.is_symlink() and child.name not in SKIP_DIRS:
            yield from _walk(child)


def load_run(path: str | Path) -> Run:
    """Read one run directory; never raises on bad content."""
    path = Path(path)
    warnings: list[str] = []
    config = _read_config(path, warnings)
    method, seed = _identity(path, config, warnings)
    run = Run(path=path, method=method, seed=seed, task=_get(config, "task", "name") or "unknown",
              model=_get(config, "model", "name_or_path") or "unknown", warnings=warnings)
    run.records = read_metrics(path / "metrics.jsonl", warnings)
    if not run.records:
        warnings.append(f"{path}: no metrics yet (empty or missing metrics.jsonl); the run is listed but not plotted")
    _load_collapse(run)
    return run


def read_metrics(path: Path, warnings: list[str]) -> list[dict[str, Any]]:
    """metrics.jsonl records sorted by step, read as the trainer reads them (:func:`trainer.rundir.scan_metrics`).

    A torn last line (a run still writing) is skipped silently; any other bad line is skipped with a warning.
    """
    try:
        scan = scan_metrics(path)
    except OSError as exc:
        warnings.append(f"{path}: unreadable ({exc})")
        return []
    for problem in scan.problems:
        if not problem.endswith("(the run was killed while writing it)"):
            warnings.append(f"{path}: {problem}; skipped")
    by_step: dict[int, dict[str, Any]] = {}
    for record in scan.records:
        step = record["step"]
        by_step[step] = {**by_step.get(step, {}), **record}  # a resumed run may repeat a step: latest wins
    return [by_step[s] for s in sorted(by_step)]


def _read_config(path: Path, warnings: list[str]) -> dict[str, Any]:
    f = path / "config.yaml"
    if not f.is_file():
        warnings.append(f"{path}: no config.yaml; reward method and seed taken from the folder name")
        return {}
    try:
        config = yaml.safe_load(f.read_text())
    except (yaml.YAMLError, OSError, UnicodeDecodeError) as exc:
        warnings.append(f"{path}: config.yaml unreadable ({type(exc).__name__}); using the folder name")
        return {}
    if not isinstance(config, dict):
        warnings.append(f"{path}: config.yaml is not a mapping; using the folder name")
        return {}
    return config


def _get(config: dict[str, Any], *keys: str) -> Any:
    node: Any = config
    for k in keys:
        node = node.get(k) if isinstance(node, dict) else None
    return node if isinstance(node, (str, int)) and not isinstance(node, bool) else None


def _identity(path: Path, config: dict[str, Any], warnings: list[str]) -> tuple[str, int | None]:
    """Reward method and seed: from config.yaml, else from a ``<method>-seed<N>`` folder name."""
    m = SEED_RE.match(path.name)
    method = _get(config, "reward", "name")
    seed = _get(config, "seed")
    if method is None:
        method = m.group("method") if m else path.name
        if config:
            warnings.append(f"{path}: config.yaml has no reward.name; method '{method}' taken from the folder name")
    if seed is None and m:
        seed = int(m.group("seed"))
    return str(method), seed if isinstance(seed, int) else None


def _load_collapse(run: Run) -> None:
    """collapse.json as written by the run; recomputed from the metrics when absent or unreadable."""
    f = run.path / "collapse.json"
    if f.is_file():
        try:
            record = json.loads(f.read_text())
            if isinstance(record, dict) and "collapse_step" in record:
                run.collapse = record
                return
        except (ValueError, OSError):
            pass
        run.warnings.append(f"{run.path}: collapse.json unreadable; collapse step recomputed from metrics")
    if run.records:
        run.collapse = collapse_from_metrics(run.records)
        run.collapse_recomputed = True


def load_runs(paths: Sequence[str | Path]) -> tuple[list[Run], list[str]]:
    """All runs found at or under ``paths``, and the discovery warnings."""
    dirs, warnings = find_run_dirs(paths)
    return [load_run(d) for d in dirs], warnings
