"""Verifier pools: the one door through which rewards and the CLI reach verifiers, in batches.

``make_pool`` picks a backend by name. ``inprocess`` calls the verifier directly and is meant for tests of
pure logic; ``local`` (process workers with hard per-item timeouts) and ``ray`` (actors hosting such workers)
are the backends for real use. ``PoolOptions`` holds how a pool is chosen, with its defaults, once: the
trainer config, the rewards and the CLI all build pools through it.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any, Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from verifiers.base import TaskItem, Verdict
from verifiers.registry import Registry, RegistryError, make_verifier


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


RAY_ONLY = ("address", "transport")


class PoolOptions(BaseModel):
    """How verifier calls are served: the backend and its common options, each default held here once.

    ``make`` builds the pool, passing each backend only the options it takes; ``backend_options`` carries the
    rest of a backend's own options (``LocalPoolOptions``, ``RayPoolOptions``), which that backend validates.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    backend: str = Field(default="ray", description="ray (Ray actors), local (worker processes), or inprocess (tests only: no hard timeouts).")
    workers: int = Field(default=2, ge=1, description="Worker processes (local) or Ray actors (ray); inprocess ignores it.")
    timeout: float | None = Field(default=None, gt=0, description="Hard per-item timeout (s); None = the verifier's own. inprocess ignores it.")
    address: str | None = Field(default=None, description="ray: the cluster to join ('auto' or host:port); None = start Ray locally.")
    transport: Literal["socket", "ray"] = Field(default="socket", description="ray: batches over a socket each actor opens, or as Ray actor calls.")
    backend_options: dict[str, Any] = Field(
        default_factory=dict, description="The chosen backend's further options (e.g. ray: batch_size, deadline_grace), validated by it."
    )

    @field_validator("backend")
    @classmethod
    def _known_backend(cls, name: str) -> str:
        try:
            POOL_BACKENDS.entry(name)
        except RegistryError as exc:
            raise ValueError(str(exc)) from None
        return name

    @model_validator(mode="after")
    def _options_fit_the_backend(self) -> PoolOptions:
        fields = type(self).model_fields
        misplaced = [f for f in RAY_ONLY if self.backend != "ray" and getattr(self, f) != fields[f].default]
        if misplaced:
            raise ValueError(f"{', '.join(misplaced)}: only for the ray backend, not {self.backend!r}")
        return self

    def backend_kwargs(self) -> dict[str, Any]:
        """The keyword options that ``make_pool`` passes to the chosen backend."""
        if self.backend == "inprocess":
            return dict(self.backend_options)
        kwargs: dict[str, Any] = {"workers": self.workers}
        if self.timeout is not None:
            kwargs["timeout"] = self.timeout
        if self.backend == "ray":
            kwargs["transport"] = self.transport
            if self.address is not None:
                kwargs["address"] = self.address
        return {**kwargs, **self.backend_options}

    def make(self, name: str, config: Mapping[str, Any] | None = None) -> VerifierPool:
        """A pool serving verifier ``name`` (built with ``config``) as these options say."""
        return make_pool(name, config, backend=self.backend, **self.backend_kwargs())


def make_pool(name: str, config: Mapping[str, Any] | None = None, backend: str | None = None, **options: Any) -> VerifierPool:
    """Build a pool serving verifier ``name`` on ``backend`` (default: ``PoolOptions``'s) with that backend's options."""
    return POOL_BACKENDS.get(backend or PoolOptions.model_fields["backend"].default)(name, config, **options)
