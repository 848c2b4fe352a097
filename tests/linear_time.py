"""Linear-time checks for code that reads model text: growth measured within one run, never a wall-clock limit.

Use from a test module (tests are imported with ``--import-mode=importlib``, so put this folder on the path)::

    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the tests/ folder
    from linear_time import assert_linear

``assert_linear(fn, make)`` times ``fn(make(n))`` at two sizes 32 times apart and fails when the time grew more
than ``bound`` times: quadratic code grows ~1000x, linear code 32x, and up to ~4x more when the large input
leaves the CPU caches and each copy of it is a fresh mmap (the math extraction functions: at most 115x at a load
average of 15 on 2 cores; the quadratic regex they replaced: 900x). Times are the thread's CPU time (``time.thread_time``), so waiting for a
core on a loaded machine does not count (a 100 ms call there is preempted many times, a 3 ms one rarely); sizes
are measured in alternating rounds and each takes its best time, so what load remains (caches) hits both alike.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

KB = 1 << 10
MB = 1 << 20


def best_time(fn: Callable[[Any], Any], arg: Any, min_total: float = 0.005) -> float:
    """The least CPU time of repeated calls ``fn(arg)``, repeating until ``min_total`` CPU seconds were spent."""
    best, spent = float("inf"), 0.0
    while spent < min_total:
        start = time.thread_time()
        fn(arg)
        elapsed = time.thread_time() - start
        best, spent = min(best, elapsed), spent + elapsed
    return best


def growth(fn: Callable[[Any], Any], make: Callable[[int], Any], small: int, large: int, rounds: int = 3) -> float:
    """time(fn(make(large))) / time(fn(make(small))), each the best over ``rounds`` alternating rounds."""
    small_arg, large_arg = make(small), make(large)
    t_small = t_large = float("inf")
    for _ in range(rounds):
        t_small = min(t_small, best_time(fn, small_arg))
        t_large = min(t_large, best_time(fn, large_arg))
    return t_large / max(t_small, 1e-9)


def assert_linear(fn: Callable[[Any], Any], make: Callable[[int], Any], large: int = MB, bound: float = 300.0) -> None:
    """Fail unless ``fn`` grows at most ``bound`` times from ``large / 32`` to ``large`` input size.

    A probe at 1 KB -> 32 KB runs first, so super-linear code fails in seconds instead of running for hours."""
    for lo, hi in ((KB, 32 * KB), (large // 32, large)):
        ratio = growth(fn, make, lo, hi)
        assert ratio <= bound, f"{getattr(fn, '__name__', fn)}: {hi / lo:g}x the input took {ratio:.1f}x the time (bound {bound:g})"
