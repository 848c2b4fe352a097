"""Lean proof checking: proofs/s with REPL reuse against a fresh REPL per proof, and per core through the pool.

Runs the shipped core-Lean gold proofs (tasks/data/lean_core.jsonl) for a few rounds and prints, side by side:
one verifier reusing its REPL (header elaborated once), the same with ``max_uses=1`` (a new REPL and header per
proof), and the ``local`` pool with W workers (proofs/s per worker). Target from the issue: kimina-lean-server's
1.7 proofs/s on a 10-CPU laptop with reuse, i.e. 0.17 proofs/s per core.

    python bench/bench_lean.py [--rounds 3] [--workers 2] [--standin]

Without a Lean toolchain it exits with the reason. ``--standin`` runs the same plumbing against the STAND-IN
REPL of the tests (tests/verifiers/lean_standin_repl.py): the harness's own overhead, no proof checked.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

from tasks.lean import gold_rows
from verifiers.lean import LeanVerifier
from verifiers.pool import make_pool

STANDIN = Path(__file__).resolve().parents[1] / "tests" / "verifiers" / "lean_standin_repl.py"
TARGET_PER_CORE = 1.7 / 10


def run_verifier(config: dict, items: list, completions: list, rounds: int) -> tuple[float, dict, int]:
    verifier = LeanVerifier(config)
    try:
        start = time.perf_counter()
        verdicts = [v for _ in range(rounds) for v in verifier.verify_batch(items, completions)]
        seconds = time.perf_counter() - start
        return len(verdicts) / seconds, verifier.stats(), sum(v.status == "correct" for v in verdicts)
    finally:
        verifier.close()


def run_pool(config: dict, items: list, completions: list, rounds: int, workers: int) -> tuple[float, int]:
    with make_pool("lean", config, backend="local", workers=workers) as pool:
        pool.verify_batch(items[:workers], completions[:workers])  # start every worker's REPL before timing
        start = time.perf_counter()
        verdicts = [v for _ in range(rounds) for v in pool.verify_batch(items, completions)]
        return len(verdicts) / (time.perf_counter() - start), sum(v.status == "correct" for v in verdicts)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--workers", type=int, default=min(2, os.cpu_count() or 1))
    parser.add_argument("--standin", action="store_true", help="measure the harness against the stand-in REPL (no proof checked)")
    args = parser.parse_args()
    config: dict = {"repl_command": [sys.executable, str(STANDIN)]} if args.standin else {}
    if not args.standin:
        reason = LeanVerifier.unavailable(config)
        if reason:
            print(f"bench_lean: cannot run without Lean: {reason}", file=sys.stderr)
            return 2
    pairs = gold_rows()
    items, completions = [r for r, _ in pairs], [c for _, c in pairs]
    n = len(items) * args.rounds
    label = "STAND-IN REPL (harness overhead, no proof checked)" if args.standin else "Lean REPL"
    print(f"{label}: {len(items)} gold proofs x {args.rounds} rounds = {n} checks")
    reuse, stats, ok = run_verifier(config, items, completions, args.rounds)
    print(f"  reuse (1 REPL)       {reuse:8.2f} proofs/s  correct {ok}/{n}  starts {stats.get('repl_starts', 0):.0f}"
          f"  header reuses {stats.get('repl_header_reuses', 0):.0f}")
    fresh, stats, ok = run_verifier({**config, "max_uses": 1}, items, completions, 1)
    print(f"  fresh REPL per proof {fresh:8.2f} proofs/s  correct {ok}/{len(items)}  starts {stats.get('repl_starts', 0):.0f}")
    pooled, ok = run_pool(config, items, completions, args.rounds, args.workers)
    per_core = pooled / args.workers
    print(f"  local pool x{args.workers}        {pooled:8.2f} proofs/s  correct {ok}/{n}  per worker {per_core:.2f}")
    print(f"reuse / fresh = {reuse / fresh:.1f}x")
    if not args.standin:
        print(f"per worker / kimina target ({TARGET_PER_CORE:.2f} proofs/s per core) = {per_core / TARGET_PER_CORE:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
