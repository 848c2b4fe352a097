"""Linear-time checks for code that reads model text: growth measured within one run, never a wall-clock limit.

Use from a test module (tests are imported with ``--import-mode=importlib``, so put this folder on the path)::

    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the tests/ folder
    from linear_time import assert_linear

``assert_linear(fn, make)`` times ``fn(make(n))`` at two sizes 32 times apart and fails when the time grew more
than ``bound`` times: quadratic code grows 1024x, linear code 32x, and up to ~4x more when the large input leaves
the CPU caches and each copy of it is a fresh mmap (measured here: ``str.strip`` of 1 MB vs 32 KB grows ~50-60x
per 16x). Sizes are measured in alternating rounds and each takes its best time, so load on the machine slows
both alike instead of skewing the ratio.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

KB = 1 << 10
MB = 1 << 20


def best_time(fn: Callable[[Any], Any], arg: Any, min_total: float = 0.005) -> float:
    """The fastest of repeated calls ``fn(arg)``, repeating until ``min_total`` seconds were spent (at least once)."""
    best, spent = float("inf"), 0.0
    while spent < min_total:
        start = time.perf_counter()
        fn(arg)
        elapsed = time.perf_counter() - start
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


def assert_linear(fn: Callable[[Any], Any], make: Callable[[int], Any], large: int = MB, bound: float = 256.0) -> None:
    """Fail unless ``fn`` grows at most ``bound`` times from ``large / 32`` to ``large`` input size.

    A probe at 1 KB -> 32 KB runs first, so super-linear code fails in seconds instead of running for hours."""
    for lo, hi in ((KB, 32 * KB), (large // 32, large)):
        ratio = growth(fn, make, lo, hi)
        assert ratio <= bound, f"{getattr(fn, '__name__', fn)}: {hi / lo:g}x the input took {ratio:.1f}x the time (bound {bound:g})"
