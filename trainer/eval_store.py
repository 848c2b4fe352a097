"""The per-sample JSONL of ``trainer.eval``: appended a chunk at a time, read back on a rerun to resume.

A torn last line (the process died mid-write) is cut off before anything is appended; other unreadable lines
are skipped with a warning, and their rows are sampled again. ``eval.json`` beside it records the settings, so
a rerun with different ones is refused instead of mixing two evaluations in one file.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from trainer.eval_args import UsageError


class SampleStore:
    """``folder/name``: one JSON object per sample, keyed by ``row_id`` and ``sample``."""

    def __init__(self, folder: Path, name: str, settings: dict[str, Any]):
        if folder.exists() and not folder.is_dir():
            raise UsageError(f"out={str(folder)!r} is a file, not a folder")
        folder.mkdir(parents=True, exist_ok=True)
        self.path = folder / name
        marker = folder / "eval.json"
        settings = json.loads(json.dumps(settings, default=str))
        if marker.exists() and self.path.exists():
            before = json.loads(marker.read_text())
            changed = sorted(k for k in set(before) | set(settings) if before.get(k) != settings.get(k))
            if changed:
                raise UsageError(f"out={str(folder)!r} holds an evaluation with other settings ({', '.join(changed)}); "
                                 "use another out= or delete it")
        marker.write_text(json.dumps(settings, indent=2) + "\n")
        self._drop_torn_tail()

    def _drop_torn_tail(self) -> None:
        if not self.path.exists():
            return
        data = self.path.read_bytes()
        if data and not data.endswith(b"\n"):
            cut = data.rfind(b"\n") + 1
            print(f"{self.path}: dropping a torn last line ({len(data) - cut} bytes)", file=sys.stderr)
            with self.path.open("r+b") as f:
                f.truncate(cut)

    def records(self) -> list[dict[str, Any]]:
        """Every readable record; for a (row, sample) written twice, the last one."""
        if not self.path.exists():
            return []
        latest: dict[tuple[str, int], dict[str, Any]] = {}
        with self.path.open(encoding="utf-8", errors="replace") as f:
            for lineno, line in enumerate(f, 1):
                try:
                    record = json.loads(line)
                    key = (str(record["row_id"]), int(record["sample"]))
                except (ValueError, KeyError, TypeError):
                    print(f"{self.path}:{lineno}: unreadable line skipped", file=sys.stderr)
                    continue
                latest[key] = record
        return list(latest.values())

    def complete_rows(self, k: int) -> set[str]:
        """Row ids with samples 0..k-1 all present."""
        seen: dict[str, set[int]] = {}
        for r in self.records():
            seen.setdefault(r["row_id"], set()).add(r["sample"])
        return {rid for rid, s in seen.items() if set(range(k)) <= s}

    def append(self, records: list[dict[str, Any]]) -> None:
        """Write ``records`` in one go and flush them to disk."""
        if not records:
            return
        with self.path.open("a", encoding="utf-8") as f:
            f.write("".join(json.dumps(r, default=str) + "\n" for r in records))
            f.flush()
