"""The run directory: resolved config, metrics.jsonl (one line per step), samples, checkpoints.

Every metrics line is flushed and fsynced before the checkpoint of its step is written, so after a kill -9
the file can be cut back to the latest checkpoint's step and stays well-formed. Reading never trusts the
file: a line that is not UTF-8, not a JSON object, or has no integer ``step`` is set aside with a warning
(its bytes kept in ``metrics.rejected``), and a checkpoint counts only when every file a resume reads is whole.
"""

from __future__ import annotations

import json
import math
import os
import re
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from trainer.checkpoints import checkpoint_problem

CHECKPOINT_RE = re.compile(r"^checkpoint-(\d+)$")
MAX_WARNINGS = 5
"""Warning lines printed per file; the rest are counted."""


class RunDirError(ValueError):
    """The path cannot be a run directory (a file, or below one)."""


@dataclass
class MetricsScan:
    """metrics.jsonl as read: the good records in file order, and each other line with why it was set aside."""

    records: list[dict[str, Any]] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    rejected: list[bytes] = field(default_factory=list)
    torn_tail: bool = False


class RunDir:
    """Paths and durable writers for one run."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        try:
            self.path.mkdir(parents=True, exist_ok=True)
        except (FileExistsError, NotADirectoryError):
            raise RunDirError(f"run_dir: {str(self.path)!r} is a file, or below one; give a directory") from None
        self.config = self.path / "config.yaml"
        self.metrics = self.path / "metrics.jsonl"
        self.rejected = self.path / "metrics.rejected"
        self.samples = self.path / "samples.jsonl"
        self.collapse = self.path / "collapse.json"
        self.checkpoints = self.path / "checkpoints"
        self.tensorboard = self.path / "tensorboard"
        self.skipped_checkpoints: list[str] = []

    def write_config(self, text: str) -> None:
        self.config.write_text(text)

    def append_metrics(self, record: Mapping[str, Any]) -> None:
        _append_jsonl(self.metrics, [record], sync=True)

    def append_samples(self, rows: Iterable[Mapping[str, Any]]) -> None:
        _append_jsonl(self.samples, rows, sync=False)

    def write_collapse(self, record: Mapping[str, Any]) -> None:
        tmp = self.collapse.with_suffix(".tmp")
        tmp.write_text(json.dumps(_jsonable(record), indent=2) + "\n")
        os.replace(tmp, self.collapse)

    def latest_checkpoint(self) -> Path | None:
        """The complete checkpoint with the highest step, or None; incomplete ones go to ``skipped_checkpoints``."""
        self.skipped_checkpoints = []
        found = []
        for d in self.checkpoints.iterdir() if self.checkpoints.is_dir() else []:
            m = CHECKPOINT_RE.match(d.name)
            if m and d.is_dir():
                found.append((int(m.group(1)), d))
        for step, d in sorted(found, reverse=True):
            problem = checkpoint_problem(d, step)
            if problem is None:
                return d
            self.skipped_checkpoints.append(f"{d.name}: {problem}")
        return None

    def has_metrics(self) -> bool:
        """True when metrics.jsonl holds anything but blank lines (good or not: it belongs to a run)."""
        return self.metrics.is_file() and bool(self.metrics.read_bytes().strip())

    def scan_metrics(self) -> MetricsScan:
        return scan_metrics(self.metrics)

    def read_metrics(self) -> list[dict[str, Any]]:
        """The well-formed metrics records, in file order (bad lines are skipped; see :meth:`truncate_metrics`)."""
        return self.scan_metrics().records

    def truncate_metrics(self, max_step: int, warn=None) -> int:
        """Keep the good lines with step <= ``max_step``; returns how many lines were dropped.

        Lines that are not good records are appended, as they were, to ``metrics.rejected`` and named through
        ``warn`` (stderr by default), so a corrupt file is repaired without losing what it held.
        """
        if not self.metrics.exists():
            return 0
        scan = self.scan_metrics()
        _report(scan.problems, self.metrics, warn or _stderr)
        if scan.rejected:
            with self.rejected.open("ab") as f:
                f.write(b"".join(line + b"\n" for line in scan.rejected))
        keep = [r for r in scan.records if r["step"] <= max_step]
        tmp = self.metrics.with_suffix(".tmp")
        tmp.write_text("".join(json.dumps(r) + "\n" for r in keep))
        os.replace(tmp, self.metrics)
        return len(scan.records) + len(scan.rejected) - len(keep)


def scan_metrics(path: Path) -> MetricsScan:
    """Read metrics.jsonl line by line; a good line is a UTF-8 JSON object with an integer ``step`` >= 0."""
    scan = MetricsScan()
    if not path.is_file():
        return scan
    data = path.read_bytes()
    lines = data.split(b"\n")
    scan.torn_tail = bool(data) and not data.endswith(b"\n")
    for n, raw in enumerate(lines, start=1):
        if not raw.strip():
            continue
        record, why = _metrics_record(raw)
        if record is None:
            torn = scan.torn_tail and n == len(lines)
            scan.problems.append(f"line {n}: {'torn (the run was killed while writing it)' if torn else why}")
            scan.rejected.append(raw)
        else:
            scan.records.append(record)
    return scan


def _metrics_record(raw: bytes) -> tuple[dict[str, Any] | None, str]:
    record, why = _json_object(raw)
    if record is None:
        return None, why
    step = record.get("step")
    if isinstance(step, bool) or not isinstance(step, int) or step < 0:
        return None, f"no integer 'step' (got {step!r:.40})"
    return record, ""


def _json_object(raw: bytes) -> tuple[dict[str, Any] | None, str]:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return None, "not UTF-8 text"
    try:
        value = json.loads(text)
    except (ValueError, RecursionError):  # ValueError covers bad JSON and over-long integers
        return None, "not valid JSON"
    if not isinstance(value, dict):
        return None, f"a JSON {type(value).__name__}, not an object"
    return value, ""


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    """The JSON-object lines of ``path``; a torn, corrupt, non-UTF-8 or non-object line is skipped."""
    if not path.is_file():
        return []
    objects = (_json_object(raw)[0] for raw in path.read_bytes().split(b"\n") if raw.strip())
    return [o for o in objects if o is not None]


def _report(problems: list[str], path: Path, warn) -> None:
    for p in problems[:MAX_WARNINGS]:
        warn(f"{path}: {p}; set aside in metrics.rejected")
    if len(problems) > MAX_WARNINGS:
        warn(f"{path}: {len(problems) - MAX_WARNINGS} more bad line(s) set aside in metrics.rejected")


def _stderr(message: str) -> None:
    print(f"urlvr: warning: {message}", file=sys.stderr, flush=True)


def _append_jsonl(path: Path, rows: Iterable[Mapping[str, Any]], sync: bool) -> None:
    lead = "\n" if _torn(path) else ""  # never glue a new line onto a torn one
    with path.open("a") as f:
        f.write(lead)
        for row in rows:
            f.write(json.dumps(_jsonable(row)) + "\n")
        f.flush()
        if sync:
            os.fsync(f.fileno())


def _torn(path: Path) -> bool:
    try:
        with path.open("rb") as f:
            f.seek(-1, os.SEEK_END)
            return f.read(1) != b"\n"
    except OSError:  # missing or empty
        return False


def _jsonable(value: Any) -> Any:
    """Plain JSON: NaN/inf become null, tensors and numpy scalars become floats."""
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if hasattr(value, "item") and callable(value.item):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value
