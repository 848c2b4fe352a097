"""``python -m verifiers``: list the registered verifiers, or verify a JSONL file of completions.

Each input line is a JSON object with ``completion`` plus the task's fields (countdown: ``nums``, ``target``;
math: ``answer``). Each output line is one verdict ``{status, score, reason, seconds}``, in input order: lines
are split on ``\n`` only, and a line that cannot be read (not UTF-8, not JSON, too deep, a number too long, not
an object) gets an ``error`` verdict naming its line number. ``--output`` is written to a temporary file beside
it that replaces it at the end, and may not be the input. Usage errors exit 2 with one line.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager, suppress
from pathlib import Path
from typing import Any, BinaryIO

from pydantic import ValidationError

from verifiers.base import Verdict
from verifiers.pool import POOL_BACKENDS, PoolOptions
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
    v.add_argument("--backend", help=f"pool backend: {', '.join(POOL_BACKENDS.names())} (default: {_default('backend')})")
    v.add_argument("--workers", type=int, help=f"worker processes / actors (default: {_default('workers')})")
    v.add_argument("--timeout", type=float, help="hard per-item timeout in seconds (local and ray backends)")
    v.add_argument("--config", default="{}", help="verifier options as a JSON object, e.g. '{\"timeout\": 3}'")
    v.add_argument("--batch-size", type=int, default=256, help="items per pool call")
    v.add_argument("--address", help="ray backend: cluster address to join ('auto' or host:port)")
    v.add_argument("--transport", choices=["socket", "ray"], help="ray backend: batches over the actors' sockets (default) or as Ray calls")
    v.add_argument("--no-progress", action="store_true", help="never show the progress bar")
    return parser


def _default(option: str) -> Any:
    return PoolOptions.model_fields[option].default


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
    row = {**row, "needs": cls.needs.names(), "deterministic": cls.deterministic, "default_timeout": cls.default_timeout}
    variants = getattr(cls, "variants", None)  # e.g. reasoning_gym: the datasets it scores
    return {**row, "variants": variants()} if callable(variants) else row


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
    for r in rows:
        if r.get("variants"):
            label, names = r["variants"]
            print(f"\n{r['name']}: {len(names)} {label}: {', '.join(names)}")
    return 0


# --------------------------------------------------------------------------- verify


def parse_line(lineno: int, raw: bytes) -> tuple[dict[str, Any], str] | Verdict:
    """(item, completion) from one input line (bytes, without its ``\\n``), or an ``error`` verdict naming the line."""
    try:
        text = raw.decode("utf-8-sig" if lineno == 1 else "utf-8")  # a byte-order mark may open the file
    except UnicodeDecodeError as exc:
        return Verdict.error(f"line {lineno}: not UTF-8 (byte 0x{raw[exc.start]:02x} at offset {exc.start})")
    try:
        row = json.loads(text)
    except json.JSONDecodeError as exc:
        return Verdict.error(f"line {lineno}: not valid JSON ({exc.msg} at column {exc.colno})")
    except ValueError as exc:  # e.g. an integer longer than Python's int-string limit
        return Verdict.error(f"line {lineno}: JSON that cannot be read ({str(exc)[:200]})")
    except RecursionError:
        return Verdict.error(f"line {lineno}: JSON nested too deeply to read")
    if not isinstance(row, dict):
        return Verdict.error(f"line {lineno}: expected a JSON object, got {type(row).__name__}")
    if "completion" not in row:
        return Verdict.error(f"line {lineno}: missing the 'completion' field (fields: {sorted(row)[:20]})")
    completion = row.pop("completion")
    if not isinstance(completion, str):
        return Verdict.error(f"line {lineno}: 'completion' must be a string, got {type(completion).__name__}")
    return row, completion


def read_lines(src: BinaryIO) -> Iterator[bytes]:
    """The file's lines, split on ``\\n`` only (a lone ``\\r``, form feed or U+2028 stays inside its line)."""
    for raw in src:  # binary files split on b"\n" and nothing else
        yield raw[:-1] if raw.endswith(b"\n") else raw


def _batches(lines: Iterator[bytes], size: int) -> Iterator[list[tuple[int, bytes]]]:
    batch: list[tuple[int, bytes]] = []
    for lineno, line in enumerate(lines, 1):
        batch.append((lineno, line))
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def verify_lines(pool: Any, batch: list[tuple[int, bytes]]) -> list[Verdict]:
    """Verdicts for one batch of numbered lines: bad lines get their error, the rest go through the pool."""
    parsed = [parse_line(n, line) for n, line in batch]
    good = [i for i, p in enumerate(parsed) if not isinstance(p, Verdict)]
    verdicts = pool.verify_batch([parsed[i][0] for i in good], [parsed[i][1] for i in good]) if good else []
    out: list[Verdict] = [p if isinstance(p, Verdict) else None for p in parsed]  # type: ignore[misc]
    for i, v in zip(good, verdicts):
        out[i] = v
    return out


def encode_verdict(verdict: Verdict) -> bytes:
    """One output line. A lone surrogate (from a ``\\ud800`` escape in the input) is written as its JSON escape."""
    return (verdict.model_dump_json() + "\n").encode("utf-8", "backslashreplace")


def _count_lines(path: Path) -> int:
    with path.open("rb") as f:
        return sum(1 for _ in f)


def _open_pool(args: argparse.Namespace) -> Any:
    try:
        config = json.loads(args.config)
    except (ValueError, RecursionError) as exc:
        raise UsageError(f"--config is not valid JSON: {getattr(exc, 'msg', exc)}") from None
    if not isinstance(config, dict):
        raise UsageError("--config must be a JSON object")
    given = {k: getattr(args, k) for k in ("backend", "workers", "timeout", "address", "transport") if getattr(args, k) is not None}
    try:
        options = PoolOptions(**given)
    except ValidationError as exc:
        raise UsageError(f"invalid pool options: {_one_line(exc)}") from None
    if options.backend == "inprocess" and options.timeout is not None:
        print("warning: --timeout is not enforced by the inprocess backend", file=sys.stderr)
    try:
        return options.make(args.name, config)
    except RegistryError as exc:
        raise UsageError(str(exc)) from None
    except ValidationError as exc:
        raise UsageError(f"invalid options for {args.name!r} on backend {options.backend!r}: {_one_line(exc)}") from None
    except RuntimeError as exc:  # e.g. a verifier that cannot be built in a worker, actors that cannot start
        raise UsageError(f"cannot start the {options.backend} pool for {args.name!r}: {exc}") from None


def _one_line(exc: ValidationError) -> str:
    return "; ".join(f"{'.'.join(map(str, e['loc'])) or 'options'}: {e['msg']}" for e in exc.errors())


def check_paths(source: Path, output: Path | None) -> None:
    """Refuse, in one line each, an input that cannot be read and an output that would lose data."""
    if not source.exists():
        raise UsageError(f"input file {str(source)!r} does not exist")
    if source.is_dir():
        raise UsageError(f"input {str(source)!r} is a directory, not a file")
    if output is None:
        return
    if output.is_dir():
        raise UsageError(f"output {str(output)!r} is a directory; give a file path")
    if not output.resolve().parent.is_dir():
        raise UsageError(f"the folder of output {str(output)!r} does not exist")
    if output.resolve() == source.resolve() or (output.exists() and os.path.samefile(output, source)):
        raise UsageError(f"output {str(output)!r} is the input file; write the verdicts to another file")


@contextmanager
def replaced_on_success(output: Path) -> Iterator[BinaryIO]:
    """A temporary file beside ``output`` that takes its place only once the block ends without an error."""
    target = output.resolve()  # through a symlink: the file it points to is the one replaced
    try:
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".partial")
    except OSError as exc:
        raise UsageError(f"cannot write in {str(target.parent)!r}: {exc.strerror}") from None
    try:
        with os.fdopen(fd, "wb") as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, target.stat().st_mode & 0o7777 if target.exists() else 0o666 & ~_umask())
        os.replace(tmp, target)
    except BaseException:
        with suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def verify_file(args: argparse.Namespace) -> int:
    check_paths(args.input, args.output)
    if args.batch_size < 1 or (args.workers is not None and args.workers < 1):
        raise UsageError("--batch-size and --workers must be at least 1")
    _check_name(args.name)
    try:
        total = _count_lines(args.input)
        src = args.input.open("rb")
    except OSError as exc:
        raise UsageError(f"cannot read input {str(args.input)!r}: {exc.strerror}") from None
    from tqdm import tqdm

    with ExitStack() as stack:
        stack.enter_context(src)
        dst: BinaryIO = stack.enter_context(replaced_on_success(args.output)) if args.output else sys.stdout.buffer
        pool = stack.enter_context(_open_pool(args))
        bar = stack.enter_context(
            tqdm(total=total, unit="item", file=sys.stderr, disable=args.no_progress or total < PROGRESS_MIN_LINES)
        )
        for batch in _batches(read_lines(src), args.batch_size):
            dst.write(b"".join(encode_verdict(v) for v in verify_lines(pool, batch)))
            dst.flush()
            bar.update(len(batch))
    return 0


def _check_name(name: str) -> None:
    try:
        VERIFIERS.entry(name)
    except RegistryError as exc:
        raise UsageError(str(exc)) from None
