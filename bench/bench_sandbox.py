"""Executions per second: bwrap sandbox vs plain subprocess, for a trivial program and a HumanEval solution.

Both backends share the same plumbing (rlimits, capped pipes, wall kill); the difference is bwrap's namespaces,
mounts and per-run cgroup. Rounds alternate between backends so load from other processes hits both alike.
Run: python bench/bench_sandbox.py [--seconds 3] [--rounds 3]
"""

from __future__ import annotations

import argparse
import secrets
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor

from sandboxes import make_sandbox
from sandboxes.base import base_python
from tasks.code import humaneval_rows
from verifiers.code.scoring import HARNESS, build_job


def jobs():
    """(name, argv-builder, files, stdin) for the two programs."""
    row = humaneval_rows()[0]
    files = build_job(row, row["solution"], 4.0)
    nonce = secrets.token_hex(16)
    return {
        "trivial": (lambda py: [py, "-I", "-c", "pass"], None, b""),
        "humaneval": (lambda py: [py, "-I", "-B", HARNESS], files, (nonce + "\n").encode()),
    }


def rate(run_one, concurrency: int, seconds: float) -> float:
    """Executions per second over ``seconds`` with ``concurrency`` runs in flight."""
    done = 0
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


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=3.0, help="Measuring time per cell and round.")
    ap.add_argument("--rounds", type=int, default=3, help="Alternating rounds per cell.")
    args = ap.parse_args()
    bwrap = make_sandbox("bwrap")
    bare = make_sandbox("bwrap", {"cgroups": False})  # rlimits only: no per-run cgroup migration (~10 ms)
    plain = make_sandbox("subprocess", {"unsafe_ok": True})
    print(f"bwrap cgroups: {'yes' if bwrap.cgroups else 'no'}; python: {base_python()}")
    print(f"{'program':<10} {'conc':>4} {'raw Popen/s':>12} {'subprocess/s':>13} {'bwrap/s':>9} {'bwrap-nocg/s':>13}"
          f" {'bwrap/subprocess':>17} {'nocg/subprocess':>16}")
    for name, (argv, files, stdin) in jobs().items():
        for conc in (1, 2):
            totals = {"raw": 0.0, "plain": 0.0, "bwrap": 0.0, "bare": 0.0}
            runners = {
                "raw": lambda: subprocess.run(argv(base_python()), input=stdin, capture_output=True, cwd="/tmp")
                if files is None else plain.run(argv(plain.python), files=files, stdin=stdin),
                "plain": lambda: _check(plain.run(argv(plain.python), files=files, stdin=stdin)),
                "bwrap": lambda: _check(bwrap.run(argv(bwrap.python), files=files, stdin=stdin)),
                "bare": lambda: _check(bare.run(argv(bare.python), files=files, stdin=stdin)),
            }
            for _ in range(args.rounds):
                for key, fn in runners.items():
                    totals[key] += rate(fn, conc, args.seconds) / args.rounds
            print(f"{name:<10} {conc:>4} {totals['raw']:>12.1f} {totals['plain']:>13.1f} {totals['bwrap']:>9.1f} "
                  f"{totals['bare']:>13.1f} {totals['bwrap'] / totals['plain']:>16.2f}x {totals['bare'] / totals['plain']:>15.2f}x")
    for sb in (bwrap, bare, plain):
        sb.close()


def _check(result):
    if result.exit_code != 0:
        raise RuntimeError(f"benchmark program failed: {result}")
    return result


if __name__ == "__main__":
    main()
