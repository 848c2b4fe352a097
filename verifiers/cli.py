"""``python -m verifiers``: list the registered verifiers, or verify a JSONL file of completions.

Each input line is a JSON object with ``completion`` plus the task's fields (countdown: ``nums``, ``target``;
math: ``answer``). Each output line is one verdict ``{status, score, reason, seconds}``, in input order. A bad
line gets an ``error`` verdict naming its line number; the exit code is non-zero only for usage errors.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any, TextIO

from pydantic import ValidationError

from verifiers.base import Verdict
from verifiers.pool import POOL_BACKENDS, make_pool
from verifiers.registry import VERIFIERS, RegistryError

USAGE_ERROR = 2
PROGRESS_MIN_LINES = 1000
"""Files with at least this many lines get a progress bar on stderr."""


class UsageError(Exception):
    """A mistake in the command line: reported in one line, exit code 2."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m verifiers", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    ls = sub.add_parser("list", help="registered verifiers: name, origin, needs, deterministic, default timeout")
    ls.add_argument("--json", action="store_true", help="one JSON object per verifier instead of a table")
    v = sub.add_parser("verify", help="verify a JSONL file of {completion, <task fields>} lines")
    v.add_argument("name", help="registered verifier name (see `list`)")
    v.add_argument("--input", "-i", required=True, type=Path, help="JSONL input, one item per line")
    v.add_argument("--output", "-o", type=Path, help="JSONL verdicts (default: stdout)")
    v.add_argument("--backend", default="local", help=f"pool backend: {', '.join(POOL_BACKENDS.names())} (default: local)")
    v.add_argument("--workers", type=int, default=min(4, os.cpu_count() or 1), help="worker processes / actors")
    v.add_argument("--timeout", type=float, help="hard per-item timeout in seconds (local and ray backends)")
    v.add_argument("--config", default="{}", help="verifier options as a JSON object, e.g. '{\"timeout\": 3}'")
    v.add_argument("--batch-size", type=int, default=256, help="items per pool call")
    v.add_argument("--address", help="ray backend: cluster address to join ('auto' or host:port)")
    v.add_argument("--transport", choices=["socket", "ray"], help="ray backend: batches over the actors' sockets (default) or as Ray calls")
    v.add_argument("--no-progress", action="store_true", help="never show the progress bar")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        if args.command == "list":
            return list_verifiers(args.json)
        return verify_file(args)
    except UsageError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return USAGE_ERROR


# --------------------------------------------------------------------------- list


def describe(name: str) -> dict[str, Any]:
    """One row of ``list``: metadata read from the verifier class (imported now)."""
    entry = VERIFIERS.entry(name)
    row: dict[str, Any] = {"name": name, "origin": entry.origin}
    try:
        cls = VERIFIERS.get(name)
    except RegistryError as exc:
        return {**row, "needs": None, "deterministic": None, "default_timeout": None, "error": str(exc)}
    return {
        **row,
        "needs": cls.needs.names(),
        "deterministic": cls.deterministic,
        "default_timeout": cls.default_timeout,
    }


def list_verifiers(as_json: bool) -> int:
    try:
        rows = [describe(name) for name in VERIFIERS.names()]
    except RegistryError as exc:  # e.g. two plugins claim one name
        raise UsageError(str(exc)) from None
    if as_json:
        for row in rows:
            print(json.dumps(row))
        return 0
    table = [("NAME", "ORIGIN", "NEEDS", "DETERMINISTIC", "DEFAULT TIMEOUT")]
    for r in rows:
        if "error" in r:
            table.append((r["name"], r["origin"], "?", "?", f"unavailable: {r['error']}"))
        else:
            needs = ",".join(r["needs"]) or "-"
            table.append((r["name"], r["origin"], needs, str(r["deterministic"]).lower(), f"{r['default_timeout']:g}s"))
    widths = [max(len(row[c]) for row in table) for c in range(4)]
    for row in table:
        print("  ".join(cell.ljust(w) for cell, w in zip(row[:4], widths)) + "  " + row[4])
    return 0


# --------------------------------------------------------------------------- verify


def parse_line(lineno: int, line: str) -> tuple[dict[str, Any], str] | Verdict:
    """(item, completion) from one input line, or an ``error`` verdict that names the line."""
    try:
        row = json.loads(line)
    except json.JSONDecodeError as exc:
        return Verdict.error(f"line {lineno}: not valid JSON ({exc.msg} at column {exc.colno})")
    if not isinstance(row, dict):
        return Verdict.error(f"line {lineno}: expected a JSON object, got {type(row).__name__}")
    if "completion" not in row:
        return Verdict.error(f"line {lineno}: missing the 'completion' field (fields: {sorted(row)[:20]})")
    completion = row.pop("completion")
    if not isinstance(completion, str):
        return Verdict.error(f"line {lineno}: 'completion' must be a string, got {type(completion).__name__}")
    return row, completion


def _batches(lines: Iterator[str], size: int) -> Iterator[list[tuple[int, str]]]:
    batch: list[tuple[int, str]] = []
    for lineno, line in enumerate(lines, 1):
        batch.append((lineno, line))
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def verify_lines(pool: Any, batch: list[tuple[int, str]]) -> list[Verdict]:
    """Verdicts for one batch of numbered lines: bad lines get their error, the rest go through the pool."""
    parsed = [parse_line(n, line) for n, line in batch]
    good = [i for i, p in enumerate(parsed) if not isinstance(p, Verdict)]
    verdicts = pool.verify_batch([parsed[i][0] for i in good], [parsed[i][1] for i in good]) if good else []
    out: list[Verdict] = [p if isinstance(p, Verdict) else None for p in parsed]  # type: ignore[misc]
    for i, v in zip(good, verdicts):
        out[i] = v
    return out


def _count_lines(path: Path) -> int:
    with path.open("rb") as f:
        return sum(1 for _ in f)


def _open_pool(args: argparse.Namespace) -> Any:
    try:
        config = json.loads(args.config)
    except json.JSONDecodeError as exc:
        raise UsageError(f"--config is not valid JSON: {exc.msg}") from None
    if not isinstance(config, dict):
        raise UsageError("--config must be a JSON object")
    options: dict[str, Any] = {"workers": args.workers}
    if args.timeout is not None:
        options["timeout"] = args.timeout
    if args.address is not None:
        options["address"] = args.address
    if args.transport is not None:
        options["transport"] = args.transport
    if args.backend == "inprocess":  # runs in this process: no workers, no hard timeout
        if args.timeout is not None:
            print("warning: --timeout is not enforced by the inprocess backend", file=sys.stderr)
        options = {}
    try:
        return make_pool(args.name, config, backend=args.backend, **options)
    except RegistryError as exc:
        raise UsageError(str(exc)) from None
    except ValidationError as exc:
        raise UsageError(f"invalid options for {args.name!r} on backend {args.backend!r}:\n{exc}") from None


def verify_file(args: argparse.Namespace) -> int:
    if not args.input.is_file():
        raise UsageError(f"input file {str(args.input)!r} does not exist")
    if args.batch_size < 1 or args.workers < 1:
        raise UsageError("--batch-size and --workers must be at least 1")
    _check_name(args.name)
    total = _count_lines(args.input)
    from tqdm import tqdm

    with ExitStack() as stack:
        src: TextIO = stack.enter_context(args.input.open(encoding="utf-8", errors="replace"))
        dst: TextIO = stack.enter_context(args.output.open("w", encoding="utf-8")) if args.output else sys.stdout
        pool = stack.enter_context(_open_pool(args))
        bar = stack.enter_context(
            tqdm(total=total, unit="item", file=sys.stderr, disable=args.no_progress or total < PROGRESS_MIN_LINES)
        )
        for batch in _batches((line.rstrip("\n") for line in src), args.batch_size):
            for verdict in verify_lines(pool, batch):
                dst.write(verdict.model_dump_json() + "\n")
            dst.flush()
            bar.update(len(batch))
    return 0


def _check_name(name: str) -> None:
    try:
        VERIFIERS.entry(name)
    except RegistryError as exc:
        raise UsageError(str(exc)) from None
