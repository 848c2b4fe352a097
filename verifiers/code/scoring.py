"""Pure scoring for code: pull the code out of a completion, read an item's tests, and turn what the judge
and the sandbox reported into a Verdict. Nothing here runs code; everything here is linear in its input.

Rule: whatever the solution does (loop, crash, exit, print, break the protocol, return odd objects) ends
``incorrect`` with a reason; only a fault of the item or of the machinery is ``error`` (masked).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from sandboxes.base import ExecResult
from verifiers.base import TaskItem, Verdict

Scoring = Literal["all", "fraction"]

_LANG = re.compile(r"[ \t]*([A-Za-z0-9_+-]*)")
_PYTHON = {"python", "python3", "py"}
_OPEN_PYTHON = re.compile(r"[ \t]*(?:python3?|py)\b", re.IGNORECASE)


def extract_code(text: str) -> str:
    """The last fenced python block; else the last fenced block; else an unclosed python block; else the text.

    A fence is a line part starting with three backticks, an optional language, and a newline; its block ends at
    the next three backticks. One left-to-right scan with ``str.find``: linear in the text, whatever its shape.
    """
    blocks, pos = [], 0
    while (start := text.find("```", pos)) >= 0:
        header_end = text.find("\n", start + 3)
        if header_end < 0:
            break
        close = text.find("```", header_end + 1)
        if close < 0:
            break
        lang = _LANG.match(text, start + 3, header_end).group(1).lower()
        blocks.append((lang, text[header_end + 1 : close]))
        pos = close + 3
    if blocks:
        python = [body for lang, body in blocks if lang in _PYTHON]
        return (python or [body for _, body in blocks])[-1].strip("\n")
    opened = _last_open_python(text)
    if opened is not None:  # a generation cut off before its closing fence
        return text[opened:].strip("\n")
    return text.strip("\n")


def _last_open_python(text: str) -> int | None:
    """Where the body of the last ```python fence (with a newline after it) starts, or None."""
    found, pos, line_end = None, 0, -1
    while (start := text.find("```", pos)) >= 0:
        if start + 3 > line_end:  # one newline search per line, however many fences it holds
            line_end = text.find("\n", start + 3)
            if line_end < 0:
                break
        if _OPEN_PYTHON.match(text, start + 3, line_end):
            found = line_end + 1
        pos = start + 1  # fences may overlap: "````python" holds one at its second backtick
    return found


@dataclass(frozen=True)
class Job:
    """An item's tests, as the judge and the runner need them."""

    units: list[str] = field(default_factory=list)
    cases: list[tuple[str, str]] = field(default_factory=list)
    entry_point: str | None = None
    setup: str = ""
    starter: str = ""


def parse_item(item: TaskItem) -> Job:
    """Read ``tests``/``test`` (assert code), ``io_tests``, ``entry_point``, ``setup`` and the starter code
    (``starter_code``, or HumanEval's ``prompt`` when there is an entry point). Raises ValueError on a bad item."""
    units = _as_units(item.get("tests", item.get("test")))
    cases = _as_cases(item.get("io_tests"))
    if not units and not cases:
        raise ValueError(f"item has no tests: expected 'tests'/'test' (assert code) or 'io_tests'; fields: {sorted(item)[:20]}")
    entry = item.get("entry_point") or None
    if entry is not None and not (isinstance(entry, str) and entry.isidentifier()):
        raise ValueError(f"entry_point must be an identifier, got {entry!r:.80}")
    starter = item.get("starter_code") or (item.get("prompt") if entry else "") or ""
    if not isinstance(starter, str):
        raise ValueError(f"starter code must be a string, got {type(starter).__name__}")
    return Job(units, cases, entry, str(item.get("setup") or ""), starter)


def solution_source(job: Job, code: str) -> str:
    """The program to run: ``code``, or the starter followed by it when ``code`` is only the function's body
    (HumanEval's ``completion``), i.e. when it does not define the entry point at the top level."""
    if job.entry_point and job.starter and not _defines(code, job.entry_point):
        return job.starter + code
    return code


_IMPORT = re.compile(r"^[ \t]*(?:from[ \t]+[\w.]+[ \t]+)?import[ \t]+[^\n]*$", re.MULTILINE)


def preamble(job: Job) -> str:
    """The import lines of the item's setup and starter code, run in the sandbox before the solution (so a
    solution may use ``List`` as its signature does); nothing else of the tests goes there."""
    return "\n".join(m.group(0).strip() for m in _IMPORT.finditer(job.setup + "\n" + job.starter))


def _defines(code: str, name: str) -> bool:
    pattern = rf"^(?:async[ \t]+)?def[ \t]+{re.escape(name)}[ \t]*\(|^{re.escape(name)}[ \t]*="
    return re.search(pattern, code, re.MULTILINE) is not None


def _as_units(tests: Any) -> list[str]:
    if tests is None or tests == "":
        return []
    if isinstance(tests, str):
        return [tests]
    if isinstance(tests, Sequence) and all(isinstance(t, str) for t in tests):
        return [t for t in tests if t.strip()]
    raise ValueError(f"'tests' must be a string or a list of strings, got {type(tests).__name__}")


def _as_cases(cases: Any) -> list[tuple[str, str]]:
    if not cases:
        return []
    out = []
    for i, case in enumerate(cases):
        if not isinstance(case, Mapping) or not {"input", "output"} <= set(case):
            raise ValueError(f"io_tests[{i}] must be a mapping with 'input' and 'output'")
        out.append((str(case["input"]), str(case["output"])))
    return out


@dataclass
class Tally:
    """Counts of one kind of test, and the reason the whole run failed (``fatal``) when the solution broke it."""

    passed: int = 0
    total: int = 0
    failures: list[str] = field(default_factory=list)
    fatal: str | None = None


def _normalize(text: str) -> str:
    return "\n".join(line.rstrip() for line in text.strip().splitlines())


def io_inputs(job: Job, case_timeout: float, stdout_bytes: int) -> str:
    """inputs.json for ``runner.py io``: the inputs only, never the expected outputs."""
    return json.dumps({"inputs": [i for i, _ in job.cases], "case_timeout": case_timeout, "stdout_bytes": stdout_bytes})


def read_cases(job: Job, result: ExecResult) -> Tally:
    """Compare each case's reported stdout with its expected output (here, outside the sandbox)."""
    records: dict[int, dict] = {}
    for line in result.stdout.splitlines():
        try:
            rec = json.loads(line)
        except (ValueError, RecursionError):
            continue
        if isinstance(rec, dict) and type(rec.get("case")) is int and 0 <= rec["case"] < len(job.cases):
            records[rec["case"]] = rec
    tally = Tally(total=len(job.cases))
    for i, (_, expected) in enumerate(job.cases):
        failure = _case_failure(i, records.get(i), expected, result)
        if failure is None:
            tally.passed += 1
        elif len(tally.failures) < 5:
            tally.failures.append(failure)
    return tally


def _case_failure(i: int, rec: dict | None, expected: str, result: ExecResult) -> str | None:
    if rec is None:
        return f"case {i}: no result, the run ended early ({_ended(result)})"
    out, err = rec.get("stdout"), str(rec.get("stderr", "")).strip().splitlines()
    if rec.get("timeout"):
        return f"case {i} ran over its time limit"
    if rec.get("exit") != 0:
        return f"case {i} exit {rec.get('exit')}: {err[-1][:200] if err else ''}"
    if not isinstance(out, str) or rec.get("truncated") or _normalize(out) != _normalize(expected):
        return f"case {i} wrong output: got {str(out)[:80]!r}, expected {expected[:80]!r}"
    return None


def read_judge(reply: Mapping[str, Any], result: ExecResult | None) -> Tally | Verdict:
    """The judge's reply as a Tally, or an ``error`` verdict when the item or the judge itself failed."""
    if reply.get("internal"):
        return Verdict.error(f"the code judge failed: {str(reply['internal'])[:300]}")
    if reply.get("item_error"):
        return Verdict.error(str(reply["item_error"])[:500])
    try:
        tally = Tally(int(reply["passed"]), int(reply["total"]), [str(f) for f in reply.get("failures", [])])
        calls = int(reply["calls"])
    except (KeyError, TypeError, ValueError):
        return Verdict.error("the code judge sent a malformed reply")
    if result is not None and result.killed:  # the host's measurement says more than what the judge saw
        tally.fatal = f"the solution was {_ended(result)}"
    elif reply.get("fatal"):
        ended = f" ({_ended(result)})" if result is not None and result.exit_code else ""
        tally.fatal = str(reply["fatal"])[:300] + ended
    elif calls == 0 and tally.passed == tally.total:
        return Verdict.error("bad task item: its tests never call the solution")
    return tally


def _ended(result: ExecResult | None) -> str:
    if result is None:
        return "no sandbox result"
    if result.killed:
        limit = {"wall": "time limit", "cpu": "CPU time limit", "memory": "memory limit"}.get(result.kill_reason or "")
        return f"killed at the {limit or 'sandbox limit'} after {result.wall_seconds:.1f}s"
    lines = [line for line in result.stderr.strip().splitlines() if line.strip()]
    return f"exit {result.exit_code}" + (f": {lines[-1][:200]}" if lines else "")


def verdict(tallies: Sequence[Tally], scoring: Scoring = "all") -> Verdict:
    """One verdict over every kind of test: correct only if all passed and nothing was fatal."""
    fatal = next((t.fatal for t in tallies if t.fatal), None)
    if fatal:
        return Verdict.incorrect(fatal)
    passed, total = sum(t.passed for t in tallies), sum(t.total for t in tallies)
    failures = [f for t in tallies for f in t.failures]
    reason = f"{passed}/{total} tests passed" + (f"; {failures[0]}" if failures else "")
    if passed == total:
        return Verdict.correct(reason)
    return Verdict.incorrect(reason, score=passed / total if scoring == "fraction" else 0.0)
