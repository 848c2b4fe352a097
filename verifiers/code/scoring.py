"""Pure scoring for code: pull the code out of a completion, build the sandbox job, read the run as a Verdict.

Nothing here runs code. A pass needs the harness's result line with this run's nonce (see harness.py).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

from sandboxes.base import ExecResult
from verifiers.base import TaskItem, Verdict

MARKER = "__URLVR_RESULT__"
HARNESS = "harness.py"
Scoring = Literal["all", "fraction"]

_FENCE = re.compile(r"```[ \t]*([A-Za-z0-9_+-]*)[^\n]*\n(.*?)```", re.DOTALL)
_OPEN_FENCE = re.compile(r"```[ \t]*(?:python3?|py)\b[^\n]*\n", re.IGNORECASE)


def extract_code(text: str) -> str:
    """The last fenced python block; else the last fenced block; else an unclosed python block; else the text."""
    blocks = _FENCE.findall(text)
    python = [body for lang, body in blocks if lang.lower() in ("python", "python3", "py")]
    if python or blocks:
        return (python or [b for _, b in blocks])[-1].strip("\n")
    opened = list(_OPEN_FENCE.finditer(text))
    if opened:  # a generation cut off before its closing fence
        return text[opened[-1].end():].strip("\n")
    return text.strip("\n")


@lru_cache(maxsize=1)
def harness_source() -> str:
    return (Path(__file__).with_name("harness.py")).read_text()


def build_job(item: TaskItem, code: str, case_timeout: float) -> dict[str, str]:
    """The files of one sandbox run: the harness, the solution and job.json. Raises ValueError on a bad item."""
    tests = _as_units(item.get("tests"))
    cases = _as_cases(item.get("io_tests"))
    if not tests and not cases:
        raise ValueError(f"item has no tests: expected 'tests' (assert code) or 'io_tests'; fields: {sorted(item)}")
    entry = item.get("entry_point") or None
    if entry is not None and not isinstance(entry, str):
        raise ValueError(f"entry_point must be a string, got {type(entry).__name__}")
    setup = item.get("setup") or ""
    job = {"tests": tests, "cases": cases, "entry_point": entry, "setup": str(setup), "case_timeout": case_timeout}
    return {HARNESS: harness_source(), "solution.py": code, "job.json": json.dumps(job)}


def _as_units(tests: Any) -> list[str]:
    if tests is None or tests == "":
        return []
    if isinstance(tests, str):
        return [tests]
    if isinstance(tests, Sequence) and all(isinstance(t, str) for t in tests):
        return [t for t in tests if t.strip()]
    raise ValueError(f"'tests' must be a string or a list of strings, got {type(tests).__name__}")


def _as_cases(cases: Any) -> list[dict[str, str]]:
    if not cases:
        return []
    out = []
    for i, case in enumerate(cases):
        if not isinstance(case, Mapping) or not {"input", "output"} <= set(case):
            raise ValueError(f"io_tests[{i}] must be a mapping with 'input' and 'output'")
        out.append({"input": str(case["input"]), "output": str(case["output"])})
    return out


def parse_result(stdout: str, nonce: str) -> dict[str, Any] | None:
    """The last result line that carries ``nonce``; None when the harness never finished."""
    for line in reversed(stdout.splitlines()):
        if not line.startswith(MARKER):
            continue
        try:
            data = json.loads(line[len(MARKER):])
        except ValueError:
            continue
        if isinstance(data, dict) and data.get("nonce") == nonce:
            return data
    return None


def interpret(result: ExecResult, nonce: str, scoring: Scoring = "all", limit_verdict: str = "timeout") -> Verdict:
    """Read one run as a Verdict: limits -> timeout (or incorrect), no proof of completion -> incorrect."""
    if result.killed:
        return _limit(f"killed at the {result.kill_reason} limit after {result.wall_seconds:.1f}s", limit_verdict)
    data = parse_result(result.stdout, nonce)
    if data is None:
        return Verdict.incorrect(f"tests did not complete (exit {result.exit_code}): {_last_line(result.stderr)}")
    try:
        passed, total = int(data["passed"]), int(data["total"])
        failures = [str(f) for f in data.get("failures", [])]
    except (KeyError, TypeError, ValueError):
        return Verdict.error("harness result line is malformed")
    if data.get("limit"):
        return _limit(f"a test case ran over its time limit: {failures[0] if failures else ''}", limit_verdict)
    if total <= 0:
        return Verdict.error("harness ran no tests")
    reason = f"{passed}/{total} tests passed" + (f"; {failures[0]}" if failures else "")
    if passed == total:
        return Verdict.correct(reason)
    return Verdict.incorrect(reason, score=passed / total if scoring == "fraction" else 0.0)


def _limit(reason: str, limit_verdict: str) -> Verdict:
    return Verdict.incorrect(reason) if limit_verdict == "incorrect" else Verdict.timeout(reason)


def _last_line(text: str) -> str:
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return lines[-1][:300] if lines else "no error output"
