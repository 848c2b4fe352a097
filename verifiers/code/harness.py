"""Runs INSIDE the sandbox (stdlib only): executes solution.py against the tests in job.json.

Protocol: the first stdin line is a per-run nonce. Only after every test ran does the harness write one line
``__URLVR_RESULT__{json}`` carrying that nonce and the counts to the original stdout. A program that exits
early, or prints its own result line, cannot produce a valid one without the nonce. The nonce leaves stdin
before the solution runs; a solution that deliberately introspects the harness's frames could still find it
(assert mode runs in-process), which is why io mode compares outputs in this separate, non-dumpable process.
"""

import json
import os
import sys

MARKER = "__URLVR_RESULT__"


def _main():
    nonce = sys.stdin.readline().strip()
    out_fd = os.dup(1)
    null = os.open(os.devnull, os.O_RDWR)
    os.dup2(null, 0)
    os.dup2(null, 1)  # the solution's prints must not crowd the result line out of the capped stdout
    sys.stdin, sys.stdout = open(os.devnull), open(os.devnull, "w")
    with open("job.json") as f:
        job = json.load(f)
    results = []
    if job.get("cases"):
        results += _run_io(job)
    if job.get("tests"):
        results += _run_asserts(job)
    failures = [r for r in results if r is not True]
    line = {"nonce": nonce, "passed": len(results) - len(failures), "total": len(results),
            "limit": any(isinstance(f, str) and f.startswith("limit:") for f in failures),
            "failures": [str(f)[:300] for f in failures[:5]]}
    os.write(out_fd, ("\n" + MARKER + json.dumps(line) + "\n").encode())


def _describe(exc):
    return f"{type(exc).__name__}: {exc}"[:300]


def _run_asserts(job):
    """Each test unit is Python code run in the solution's namespace; HumanEval-style ``check`` is called."""
    units = job["tests"]
    ns = {"__name__": "__solution__", "__builtins__": __builtins__}
    try:
        if job.get("setup"):
            exec(compile(job["setup"], "setup.py", "exec"), ns)
        with open("solution.py") as f:
            exec(compile(f.read(), "solution.py", "exec"), ns)
    except BaseException as exc:  # SystemExit too: leaving early is not passing
        return [f"solution failed to load: {_describe(exc)}"] * len(units)
    entry = job.get("entry_point")
    if entry and not callable(ns.get(entry)):
        return [f"solution does not define function {entry!r}"] * len(units)
    results = []
    for i, unit in enumerate(units):
        try:
            exec(compile(unit, f"test_{i}.py", "exec"), ns)
            check = ns.pop("check", None) if entry else None
            if callable(check):
                check(ns[entry])
            results.append(True)
        except BaseException as exc:
            kind = "assertion failed" if isinstance(exc, AssertionError) else "error"
            results.append(f"test {i} {kind}: {_describe(exc)}")
    return results


def _normalize(text):
    return "\n".join(line.rstrip() for line in text.strip().splitlines())


def _run_io(job):
    """Each case runs solution.py as its own process with the case's stdin; outputs are compared here."""
    import subprocess

    try:  # keep the solution's processes out of this one's memory (and so away from the nonce)
        import ctypes

        ctypes.CDLL(None).prctl(4, 0, 0, 0, 0)  # PR_SET_DUMPABLE, 0
    except Exception:
        pass
    results = []
    for i, case in enumerate(job["cases"]):
        try:
            proc = subprocess.run([sys.executable, "-I", "-B", "solution.py"], input=case["input"].encode(),
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=job["case_timeout"])
        except subprocess.TimeoutExpired:
            results.append(f"limit: case {i} ran over {job['case_timeout']}s")
            continue
        out = proc.stdout.decode(errors="replace")
        if proc.returncode != 0:
            err = proc.stderr.decode(errors="replace").strip().splitlines()
            results.append(f"case {i} exit {proc.returncode}: {err[-1] if err else ''}")
        elif _normalize(out) != _normalize(case["output"]):
            results.append(f"case {i} wrong output: got {out[:80]!r}, expected {case['output'][:80]!r}")
        else:
            results.append(True)
    return results


if __name__ == "__main__":
    _main()
