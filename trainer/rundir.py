"""The run directory: resolved config, metrics.jsonl (one line per step), samples, checkpoints.

Every metrics line is flushed and fsynced before the checkpoint of its step is written, so after a kill -9
the file can be cut back to the latest checkpoint's step and stays well-formed.
"""

from __future__ import annotations

import json
import math
import os
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

CHECKPOINT_RE = re.compile(r"^checkpoint-(\d+)$")


class RunDir:
    """Paths and durable writers for one run."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.path.mkdir(parents=True, exist_ok=True)
        self.config = self.path / "config.yaml"
        self.metrics = self.path / "metrics.jsonl"
        self.samples = self.path / "samples.jsonl"
        self.collapse = self.path / "collapse.json"
        self.checkpoints = self.path / "checkpoints"
        self.tensorboard = self.path / "tensorboard"

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
        """The checkpoint folder with the highest step that TRL finished writing, or None."""
        found = []
        for d in self.checkpoints.glob("checkpoint-*") if self.checkpoints.exists() else []:
            m = CHECKPOINT_RE.match(d.name)
            if m and (d / "trainer_state.json").exists():
                found.append((int(m.group(1)), d))
        return max(found)[1] if found else None

    def read_metrics(self) -> list[dict[str, Any]]:
        return read_jsonl(self.metrics)

    def truncate_metrics(self, max_step: int) -> int:
        """Keep well-formed lines with step <= ``max_step``; returns how many lines were dropped."""
        if not self.metrics.exists():
            return 0
        lines = self.metrics.read_text().splitlines()
        keep = [json.dumps(r) for r in read_jsonl(self.metrics) if int(r.get("step", -1)) <= max_step]
        tmp = self.metrics.with_suffix(".tmp")
        tmp.write_text("".join(line + "\n" for line in keep))
        os.replace(tmp, self.metrics)
        return len(lines) - len(keep)


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    """Well-formed JSON-object lines of ``path``; a torn or corrupt line is skipped."""
    if not path.exists():
        return []
    out = []
    for line in path.read_text().splitlines():
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(record, dict):
            out.append(record)
    return out


def _append_jsonl(path: Path, rows: Iterable[Mapping[str, Any]], sync: bool) -> None:
    with path.open("a") as f:
        for row in rows:
            f.write(json.dumps(_jsonable(row)) + "\n")
        f.flush()
        if sync:
            os.fsync(f.fileno())


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
