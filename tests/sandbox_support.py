"""Test helper shared by the sandbox tests: run Python source in a sandbox backend."""

from __future__ import annotations

from sandboxes import ExecResult, Limits, Sandbox


def run_py(sb: Sandbox, code: str, stdin: str = "", **limits: float) -> ExecResult:
    """Run ``code`` as main.py with the interpreter the backend provides; ``limits`` override the defaults."""
    return sb.run([sb.python, "-I", "main.py"], files={"main.py": code}, stdin=stdin, limits=Limits(**limits))
