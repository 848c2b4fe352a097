"""Verifier pools: the one door through which rewards and the CLI reach verifiers, in batches.

``make_pool`` picks a backend by name. ``inprocess`` calls the verifier directly and is meant for tests of
pure logic; ``local`` (process workers with hard per-item timeouts) and ``ray`` (actors hosting such workers)
are the backends for real use.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from verifiers.base import TaskItem, Verdict
from verifiers.registry import Registry, make_verifier


class PoolStats:
    """Running counters for one verifier behind a pool: calls, items/s, latency percentiles, errors, timeouts."""

    def __init__(self) -> None:
        self.calls = 0
        self.items = 0
        self.busy_seconds = 0.0
        self.latencies: list[float] = []
        self.counts = {"correct": 0, "incorrect": 0, "error": 0, "timeout": 0}

    def record(self, verdicts: Sequence[Verdict], wall_seconds: float) -> None:
        self.calls += 1
        self.items += len(verdicts)
        self.busy_seconds += wall_seconds
        self.latencies.extend([v.seconds for v in verdicts])
        for status, n in Counter([v.status for v in verdicts]).items():
            self.counts[status] += n
        del self.latencies[:-10000]  # percentiles over the recent window keep memory bounded

    def summary(self, prefix: str = "") -> dict[str, float]:
        lat = sorted(self.latencies)

        def pct(q: float) -> float:
            return lat[min(len(lat) - 1, int(q * len(lat)))] if lat else 0.0

        return {
            f"{prefix}calls": float(self.calls),
            f"{prefix}items": float(self.items),
            f"{prefix}items_per_s": self.items / self.busy_seconds if self.busy_seconds else 0.0,
            f"{prefix}p50_s": pct(0.50),
            f"{prefix}p99_s": pct(0.99),
            f"{prefix}errors": float(self.counts["error"]),
            f"{prefix}timeouts": float(self.counts["timeout"]),
        }


class VerifierPool(Protocol):
    """What rewards and the CLI use; every backend provides it."""

    name: str

    def verify_batch(self, items: Sequence[TaskItem], completions: Sequence[str]) -> list[Verdict]: ...

    def stats(self) -> dict[str, float]: ...

    def close(self) -> None: ...


class InProcessPool:
    """Calls the verifier in this process. No hard timeouts: for tests of pure logic and trusted fast verifiers."""

    def __init__(self, name: str, config: Mapping[str, Any] | None = None, **_: Any):
        self.name = name
        self.verifier = make_verifier(name, config)
        self._stats = PoolStats()

    def verify_batch(self, items: Sequence[TaskItem], completions: Sequence[str]) -> list[Verdict]:
        start = time.perf_counter()
        verdicts = self.verifier.verify_batch(items, completions)
        self._stats.record(verdicts, time.perf_counter() - start)
        return verdicts

    def stats(self) -> dict[str, float]:
        return self._stats.summary()

    def close(self) -> None:
        pass

    def __enter__(self) -> InProcessPool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


POOL_BACKENDS = Registry(
    "verifier pool backend",
    {
        "inprocess": "verifiers.pool:InProcessPool",
        "local": "verifiers.workers:LocalPool",
        "ray": "verifiers.ray_pool:RayPool",
    },
)


def make_pool(name: str, config: Mapping[str, Any] | None = None, backend: str = "inprocess", **options: Any) -> VerifierPool:
    """Build a pool serving verifier ``name`` on ``backend`` (options: workers, timeout, address, ...)."""
    return POOL_BACKENDS.get(backend)(name, config, **options)
