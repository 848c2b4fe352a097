"""A real bwrap sandbox shared by the sandbox tests, and a helper to run Python source in it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from sandboxes import ExecResult, Limits, Sandbox, make_sandbox


@pytest.fixture(scope="module")
def bwrap() -> Iterator[Sandbox]:
    with make_sandbox("bwrap") as sb:
        yield sb


def run_py(sb: Sandbox, code: str, stdin: str = "", **limits: float) -> ExecResult:
    """Run ``code`` as main.py with the interpreter the backend provides; ``limits`` override the defaults."""
    return sb.run([sb.python, "-I", "main.py"], files={"main.py": code}, stdin=stdin, limits=Limits(**limits))
