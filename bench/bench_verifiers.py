"""Verifier throughput: in-process vs process-isolated (``local``) vs Ray pools, side by side in one run.

``ray`` pools send batches over the actors' sockets (the default transport); ``ray x1 calls`` sends them as Ray
actor calls (``transport="ray"``), for comparison.

For each verifier: items/s at batch sizes 1, 64 and 1024 with 1 and 2 workers; for ``math`` also
math-verify called directly in-process on the same items. Prints every figure and the target ratios:
pool overhead <= 15% at batch 1024, 2 workers >= 1.6x one worker on math, process-isolated math >= 0.8x
direct math-verify. Items are each verifier's gold ``examples()`` plus the same completions paired with the
wrong items (about half correct).

    python bench/bench_verifiers.py [--verifiers countdown math] [--budget 1.0] [--rounds 5] [--no-ray]

On a shared 2-core VM, 3 rounds of 0.5 s put the countdown Ray ratio anywhere in 0.83-0.89 over 3 runs; 5 rounds
of 1 s gave 0.89 and 0.93, hence the defaults.
"""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Callable, Sequence
from typing import Any

from verifiers.pool import make_pool
from verifiers.registry import VERIFIERS, RegistryError

BATCH_SIZES = (1, 64, 1024)
MAX_CALL_SECONDS = 20.0
"""A batch size whose single in-process call would take longer than this is skipped (slow verifiers)."""

Runner = Callable[[Sequence[Any], Sequence[str]], Any]


class NoExamples(Exception):
    """The verifier class has no ``examples()`` to build benchmark items from."""


def math_items(n: int = 1024) -> tuple[list[Any], list[str]]:
    """``n`` distinct math (item, completion) pairs in several answer forms, every other one wrong.

    Distinct strings matter: math-verify caches parses, and a handful of repeated examples would measure the cache.
    """
    items, completions = [], []
    for k in range(n):
        w = k % 2  # the odd ones are off by one: wrong
        gold, said = [
            (f"\\frac{{{k + 1}}}{{{k + 2}}}", f"so the ratio is \\boxed{{\\frac{{{2 * (k + 1 + w)}}}{{{2 * (k + 2)}}}}}"),
            (str(7 * k), f"6 + 1 = 7, times {k}.\n\nThe answer is ${7 * k + w}$."),
            (f"\\sqrt{{{k + 2}}}", f"Taking roots: \\boxed{{\\sqrt{{{k + 2 + w}}}}}"),
            (f"(-\\infty, {k})", f"So x < {k + w}, i.e. \\boxed{{(-\\infty, {k + w})}}"),
            (f"x^2 + {k}", f"Expanding gives \\boxed{{{k + w} + x^2}}"),
        ][k % 5]
        items.append({"answer": gold})
        completions.append(said)
    return items, completions


def bench_items(cls: Any, n: int = 1024) -> tuple[list[Any], list[str]]:
    """``n`` (item, completion) pairs cycled from the gold examples; every other one is mismatched."""
    if cls.name == "math":
        return math_items(n)
    pairs = list(cls.examples())
    items, completions = [], []
    for k in range(n):
        item, completion = pairs[k % len(pairs)]
        if k % 2 and len(pairs) > 1:
            completion = pairs[(k + 1) % len(pairs)][1]
        items.append(item)
        completions.append(completion)
    return items, completions


def throughput(run: Runner, items: list[Any], completions: list[str], batch: int, budget: float) -> float:
    """Items per second of ``run`` called with ``batch``-sized slices for about ``budget`` seconds (at least one call)."""
    done, start, k = 0, time.perf_counter(), 0
    while True:
        lo = (k * batch) % len(items)
        chunk_items, chunk_completions = items[lo : lo + batch], completions[lo : lo + batch]
        run(chunk_items, chunk_completions)
        done += len(chunk_items)
        k += 1
        elapsed = time.perf_counter() - start
        if elapsed >= budget:
            return done / elapsed


def math_verify_direct() -> Runner:
    """math-verify's own parse + verify, in this process, no isolation (the reference for the math verifier)."""
    from math_verify import parse, verify

    def run(items: Sequence[Any], completions: Sequence[str]) -> list[bool]:
        return [bool(verify(parse(f"${item['answer']}$"), parse(c))) for item, c in zip(items, completions)]

    return run


def worker_cpu_overhead(cls: Any, items: list[Any], completions: list[str], rounds: int = 5) -> tuple[float, float]:
    """CPU cost per item of the ``local`` backend's machinery, measured in this process (immune to CPU contention).

    Returns (worker loop / plain ``safe_verify`` loop, parent's per-item work / plain loop): the worker's loop
    includes unpickling items and pickling results; the parent's work (pickling items, building verdicts)
    runs on another core.
    """
    import multiprocessing as mp
    import pickle

    from verifiers.base import from_columns, safe_verify
    from verifiers.worker_process import _verify_chunk

    verifier, state = cls(), mp.RawArray("d", [-1.0, 0.0])
    chunks = [[(j, items[j], completions[j]) for j in range(lo, min(len(items), lo + 64))] for lo in range(0, len(items), 64)]
    sent: list[bytes] = []

    class Sink:
        def send(self, obj: Any) -> None:
            sent.append(pickle.dumps(obj))

    plain = loop = parent = float("inf")
    for _ in range(rounds):
        t0 = time.perf_counter()
        for chunk in chunks:
            [safe_verify(verifier, item, c) for _, item, c in chunk]
        t1 = time.perf_counter()
        sent.clear()
        for chunk in chunks:
            _verify_chunk(Sink(), state, verifier, pickle.loads(pickle.dumps(chunk)))
        t2 = time.perf_counter()
        for chunk in chunks:
            pickle.dumps(chunk)
        for data in sent:
            from_columns(pickle.loads(data)[1])
        t3 = time.perf_counter()
        plain, loop, parent = min(plain, t1 - t0), min(loop, t2 - t1), min(parent, t3 - t2)
    return loop / plain, parent / plain


def _spin(seconds: float) -> int:
    n, end = 0, time.perf_counter() + seconds
    while time.perf_counter() < end:
        n += 1
    return n


def cpu_ceiling(seconds: float = 1.0) -> float:
    """How much faster two busy processes get through a CPU-bound loop than one, on this machine right now.

    The best any 2-worker pool can do; below 2 when other work shares the CPUs.
    """
    import multiprocessing as mp

    with mp.get_context("forkserver").Pool(2) as pool:
        one = pool.apply(_spin, (seconds,))
        two = sum(pool.map(_spin, [seconds, seconds], chunksize=1))
    return two / one


def modes(ray: bool) -> list[tuple[str, str, dict[str, Any]]]:
    out = [("in-process", "inprocess", {}), ("local x1", "local", {"workers": 1}), ("local x2", "local", {"workers": 2})]
    if ray:  # half a CPU per actor, so that all pools fit on a 2-CPU machine at once
        out += [("ray x1", "ray", {"workers": 1, "num_cpus": 0.5}), ("ray x2", "ray", {"workers": 2, "num_cpus": 0.5}),
                ("ray x1 calls", "ray", {"workers": 1, "num_cpus": 0.5, "transport": "ray"})]
    return out


def bench_verifier(name: str, budget: float, rounds: int, ray: bool) -> dict[tuple[str, int], float]:
    """items/s for every (mode, batch size) of one verifier, best of ``rounds`` interleaved rounds; prints each figure.

    All pools stay up together and the modes take turns, so that load from other processes hits them alike.
    """
    cls = VERIFIERS.get(name)
    if not callable(getattr(cls, "examples", None)):
        raise NoExamples(f"{cls.__name__} has no examples() to draw benchmark items from")
    items, completions = bench_items(cls)
    pools = {label: make_pool(name, backend=backend, **opts) for label, backend, opts in modes(ray)}
    runners: dict[str, Runner] = {label: pool.verify_batch for label, pool in pools.items()}
    if name == "math":
        runners["math-verify direct"] = math_verify_direct()
        ours = [v.status == "correct" for v in pools["in-process"].verify_batch(items[:100], completions[:100])]
        agree = sum(a == b for a, b in zip(ours, runners["math-verify direct"](items[:100], completions[:100])))
        print(f"  math verifier and math-verify agree on {agree}/100 of these items", flush=True)
    results: dict[tuple[str, int], float] = {}
    loop, parent = worker_cpu_overhead(cls, items[:256], completions[:256])
    results["cpu: worker loop / plain loop", 0] = loop
    results["cpu: parent work / plain loop", 0] = parent
    print(f"  {name:<12} CPU per item, local backend: worker loop {loop:.3f}x the plain loop; "
          f"parent work {parent:.3f}x of it (on another core)", flush=True)
    try:
        for run in runners.values():  # warm-up: first calls build caches, import lazily, fault pages in
            run(items[:64], completions[:64])
        for batch in BATCH_SIZES:
            if ("in-process", 1) in results and batch / results["in-process", 1] > MAX_CALL_SECONDS:
                print(f"  {name:<12} batch {batch}: skipped (one call would take over {MAX_CALL_SECONDS:g}s)")
                continue
            slow = batch / results.get(("in-process", 1), float("inf")) > budget
            for _ in range(1 if slow else rounds):
                for label, run in runners.items():
                    rate = throughput(run, items, completions, batch, budget)
                    results[label, batch] = max(rate, results.get((label, batch), 0.0))
            for label in runners:
                print(f"  {name:<12} {label:<20} batch {batch:>5}: {results[label, batch]:>10.1f} items/s", flush=True)
    finally:
        for pool in pools.values():
            pool.close()
    return results


def ratio_line(what: str, num: float | None, den: float | None, target: str) -> None:
    if not num or not den:
        print(f"  {what:<58} n/a")
        return
    print(f"  {what:<58} {num / den:6.2f}x  (target {target})")


def report(name: str, r: dict[tuple[str, int], float]) -> None:
    print(f"\n{name}: ratios")
    for batch in BATCH_SIZES:
        base = r.get(("in-process", batch))
        for label in ("local x1", "ray x1", "ray x1 calls"):
            if (label, batch) in r:  # the target is the Ray pool's (default transport); the others are for comparison
                target = ">= 0.85 (overhead <= 15%)" if batch == 1024 and label == "ray x1" else "-"
                ratio_line(f"{label} / in-process, batch {batch}", r[label, batch], base, target)
    for backend in ("local", "ray"):
        for batch in (64, 1024):
            target = ">= 1.6" if name == "math" and batch == 1024 else "-"
            ratio_line(f"{backend} x2 / {backend} x1, batch {batch}", r.get((f"{backend} x2", batch)), r.get((f"{backend} x1", batch)), target)
    if ("cpu: worker loop / plain loop", 0) in r:
        loop, parent = r["cpu: worker loop / plain loop", 0], r["cpu: parent work / plain loop", 0]
        print(f"  {'local backend CPU overhead per item (worker side, contention-free)':<58} {loop - 1:+6.1%}   (target <= 15%)")
        print(f"  {'local backend parent-side CPU per item, relative':<58} {parent:6.1%}   (runs on another core)")
    if name == "math":
        direct = r.get(("math-verify direct", 1024))
        for label in ("local x1", "local x2", "in-process"):
            target = ">= 0.8" if label == "local x1" else "-"
            ratio_line(f"math {label} / math-verify direct, batch 1024", r.get((label, 1024)), direct, target)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--verifiers", nargs="*", help="names to run (default: every registered verifier)")
    parser.add_argument("--budget", type=float, default=1.0, help="seconds per measurement (default 1.0)")
    parser.add_argument("--rounds", type=int, default=5, help="interleaved rounds; the best is kept (default 5)")
    parser.add_argument("--no-ray", action="store_true", help="skip the Ray backend")
    args = parser.parse_args(argv)
    names = args.verifiers or VERIFIERS.names()
    if not args.no_ray:
        from verifiers.ray_pool import ensure_ray

        ensure_ray()
    print(f"CPUs: {os.cpu_count()}; two busy processes do {cpu_ceiling():.2f}x the work of one right now "
          "(the ceiling for any 2-worker speed-up)", flush=True)
    all_results = {}
    for name in names:
        print(f"\n== {name}", flush=True)
        try:
            all_results[name] = bench_verifier(name, args.budget, args.rounds, not args.no_ray)
        except (RegistryError, NoExamples) as exc:
            print(f"  skipped: {exc}")
    for name, results in all_results.items():
        report(name, results)


if __name__ == "__main__":
    main()
