"""Executions per second: the code verifier (bwrap sandbox + trusted judge) vs a bare subprocess.

``trivial``: ``python -c pass`` in bwrap vs the plain subprocess backend (the sandbox's own cost).
``humaneval``: HumanEval/0's canonical solution. The bare baseline runs solution, tests and ``check`` in one
unsandboxed process (the naive, unsafe way); the verifier runs the solution in bwrap answering calls while the
judge runs the tests outside. Rounds alternate between cells so load from other processes hits all alike.
Run: python bench/bench_sandbox.py [--seconds 3] [--rounds 3]
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from sandboxes import make_sandbox
from sandboxes.base import base_python
from tasks.code import humaneval_rows
from verifiers.code import CodeVerifier


def rate(run_one: Callable[[], object], concurrency: int, seconds: float) -> float:
    """Executions per second over ``seconds`` with ``concurrency`` runs in flight."""
    end = time.monotonic() + seconds
    start = time.monotonic()

    def worker() -> int:
        n = 0
        while time.monotonic() < end:
            run_one()
            n += 1
        return n

    with ThreadPoolExecutor(concurrency) as ex:
        done = sum(ex.map(lambda _: worker(), range(concurrency)))
    return done / (time.monotonic() - start)


def cells() -> dict[str, dict[str, Callable[[], object]]]:
    """program -> {cell name -> one execution}; the first cell of each program is its baseline."""
    row = humaneval_rows()[0]
    bare_program = f"{row['setup']}\n{row['solution']}\n{row['tests']}\ncheck({row['entry_point']})\n"
    plain = make_sandbox("subprocess", {"unsafe_ok": True})
    bwrap = make_sandbox("bwrap")
    verifier = CodeVerifier()
    unsafe_verifier = CodeVerifier({"sandbox": "subprocess", "sandbox_options": {"unsafe_ok": True}})
    gold = "```python\n" + row["solution"] + "\n```"
    return {
        "trivial": {
            "subprocess": lambda: _ok(plain.run([plain.python, "-I", "-c", "pass"])),
            "bwrap": lambda: _ok(bwrap.run([bwrap.python, "-I", "-c", "pass"])),
        },
        "humaneval": {
            "bare subprocess": lambda: _ok(plain.run([plain.python, "-I", "-B", "main.py"], files={"main.py": bare_program})),
            "verifier bwrap": lambda: _correct(verifier.verify(row, gold)),
            "verifier subprocess": lambda: _correct(unsafe_verifier.verify(row, gold)),
        },
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=3.0, help="Measuring time per cell and round.")
    ap.add_argument("--rounds", type=int, default=3, help="Alternating rounds per cell.")
    args = ap.parse_args()
    print(f"python: {base_python()}")
    for program, runners in cells().items():
        names = list(runners)
        print(f"{program:<10} {'conc':>4} " + " ".join(f"{n + '/s':>20}" for n in names)
              + " " + " ".join(f"{n + ' / ' + names[0]:>34}" for n in names[1:]))
        for conc in (1, 2):
            runners[names[-1]]()  # warm: judges started, imports done
            totals = dict.fromkeys(names, 0.0)
            for _ in range(args.rounds):
                for name, fn in runners.items():
                    totals[name] += rate(fn, conc, args.seconds) / args.rounds
            base = totals[names[0]]
            print(f"{program:<10} {conc:>4} " + " ".join(f"{totals[n]:>20.1f}" for n in names)
                  + " " + " ".join(f"{totals[n] / base:>33.2f}x" for n in names[1:]))


def _ok(result):
    if result.exit_code != 0:
        raise RuntimeError(f"benchmark program failed: {result}")
    return result


def _correct(verdict):
    if verdict.status != "correct":
        raise RuntimeError(f"benchmark solution did not pass: {verdict}")
    return verdict


if __name__ == "__main__":
    main()
