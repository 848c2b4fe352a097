"""The verifier contract: a pure function from (task item, completion) to a Verdict.

Nothing here imports Ray, TRL or torch; scoring code stays testable as plain Python.
"""

from __future__ import annotations

import gc
import json
import math
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field

TaskItem = Mapping[str, Any]
"""One task row as a mapping: the fields a verifier reads (e.g. ``nums``/``target``, ``answer``, ``tests``)."""

Status = Literal["correct", "incorrect", "error", "timeout"]


STATUSES: tuple[Status, ...] = ("correct", "incorrect", "error", "timeout")
MASKED = frozenset({"error", "timeout"})
"""Statuses that carry no score: the sample is masked from the reward, not zeroed."""


@dataclass(frozen=True, slots=True)
class Verdict:
    """The outcome of one verification. ``score`` is None exactly for error/timeout, so the sample is masked.

    ``Verdict(...)`` validates its fields; the classmethods ``correct``/``incorrect``/``error``/``timeout`` are
    what verifiers use. ``Verdict.trusted`` skips validation, for fields that our own code made or checked
    (rebuilding verdicts from the wire): verdicts are made per rollout on the hot path.
    """

    status: Status
    score: float | None
    reason: str
    seconds: float = 0.0

    def __post_init__(self) -> None:
        if self.status not in STATUSES:
            raise ValueError(f"verdict status must be one of {', '.join(STATUSES)}; got {self.status!r}")
        if self.status in MASKED:
            if self.score is not None:
                raise ValueError(f"a {self.status} verdict has no score (None); got {self.score!r}")
        else:
            _set_score(self, _finite(self.score, "score"))
        if not isinstance(self.reason, str):
            raise ValueError(f"verdict reason must be a string; got {type(self.reason).__name__}")
        seconds = _finite(self.seconds, "seconds")
        if seconds < 0:
            raise ValueError(f"verdict seconds must be >= 0; got {seconds!r}")
        _set_seconds(self, seconds)

    @classmethod
    def trusted(cls, status: Status, score: float | None, reason: str, seconds: float = 0.0) -> Verdict:
        """A verdict from fields known to be valid (made by the constructors below, or read back from the wire)."""
        verdict = _new(cls)
        _set_status(verdict, status)
        _set_score(verdict, score)
        _set_reason(verdict, reason)
        _set_seconds(verdict, seconds)
        return verdict

    @classmethod
    def correct(cls, reason: str = "correct", score: float = 1.0) -> Verdict:
        return cls.trusted("correct", float(score), str(reason))

    @classmethod
    def incorrect(cls, reason: str, score: float = 0.0) -> Verdict:
        return cls.trusted("incorrect", float(score), str(reason))

    @classmethod
    def error(cls, reason: str) -> Verdict:
        return cls.trusted("error", None, str(reason))

    @classmethod
    def timeout(cls, reason: str) -> Verdict:
        return cls.trusted("timeout", None, str(reason))

    def _stamp(self, seconds: float) -> Verdict:
        """Set ``seconds`` in place: only for the caller that owns this fresh verdict (see ``Verifier.verify``)."""
        _set_seconds(self, seconds)
        return self

    def timed(self, seconds: float) -> Verdict:
        """This verdict with ``seconds`` set (a cheap copy, no re-validation)."""
        return self.trusted(self.status, self.score, self.reason, float(seconds))

    @property
    def masked(self) -> bool:
        """True when the verdict carries no usable score (error or timeout)."""
        return self.status in MASKED

    def model_dump(self) -> dict[str, Any]:
        """The fields as a dict (named as on pydantic models, which verdicts were)."""
        return {"status": self.status, "score": self.score, "reason": self.reason, "seconds": self.seconds}

    def model_dump_json(self) -> str:
        """One JSON object, as the CLI writes it."""
        return json.dumps(self.model_dump(), ensure_ascii=False, separators=(",", ":"))

    @classmethod
    def model_validate(cls, data: Mapping[str, Any]) -> Verdict:
        """A validated verdict from a mapping (e.g. a parsed JSON line); unknown keys are refused."""
        extra = set(data) - {"status", "score", "reason", "seconds"}
        if extra:
            raise ValueError(f"unknown verdict fields: {sorted(extra)}")
        return cls(**data)

    def __reduce__(self) -> tuple[Any, tuple[Any, ...]]:
        return (_from_pickle, (self.status, self.score, self.reason, self.seconds))


def _finite(value: Any, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ValueError(f"verdict {name} must be a finite number; got {value!r}")
    return float(value)


def _from_pickle(status: Status, score: float | None, reason: str, seconds: float) -> Verdict:
    return Verdict(status, score, reason, seconds)  # validated: a pickle may come from anywhere


_new = object.__new__
_set_status = Verdict.status.__set__  # the slots' own descriptors: they bypass the frozen __setattr__
_set_score = Verdict.score.__set__
_set_reason = Verdict.reason.__set__
_set_seconds = Verdict.seconds.__set__


# --------------------------------------------------------------------------- the wire format

Columns = tuple[list[str], list["float | None"], list[str], list[float]]
"""Verdicts as they travel between processes (worker pipes, actor sockets, Ray calls): four parallel lists
``(statuses, scores, reasons, seconds)``, the cheapest form to pickle and rebuild."""


def to_columns(verdicts: Sequence[Verdict]) -> Columns:
    return ([v.status for v in verdicts], [v.score for v in verdicts], [v.reason for v in verdicts],
            [v.seconds for v in verdicts])


def add_row(columns: Columns, v: Verdict) -> None:
    """Append one verdict to ``columns``."""
    columns[0].append(v.status)
    columns[1].append(v.score)
    columns[2].append(v.reason)
    columns[3].append(v.seconds)


def from_columns(columns: Columns) -> list[Verdict]:
    """Rebuild verdicts that our own worker or actor made (validated there by the constructors; not again here)."""
    return list(map(Verdict.trusted, *columns))


class Needs(BaseModel):
    """What a verifier needs from its host; the pool and the CLI read this to place and describe it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    sandbox: bool = False
    gpu: bool = False
    lean: bool = False
    generator: bool = False
    network: bool = False

    def names(self) -> list[str]:
        return [k for k, v in self.model_dump().items() if v]


class VerifierConfig(BaseModel):
    """Base for each verifier's own options. Unknown keys are rejected."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    timeout: float | None = Field(default=None, gt=0, description="Per-item hard timeout in seconds; None = class default.")


class Verifier(ABC):
    """Base class for verifiers. Subclasses set the class metadata and implement ``verify``.

    **Masking rule.** ``error`` and ``timeout`` verdicts carry no score, so training masks the sample instead
    of scoring it. Use them only for faults the completion cannot cause: a sandbox that will not start, a dead
    worker, a missing toolchain, a bug in the verifier. Whatever the completion can cause is ``incorrect``, with
    the reason: an answer that cannot be parsed, a program that loops past its limit, crashes the harness or
    makes it run no tests, an expression only a pathological computation could settle. Otherwise a policy
    learns to escape a 0 by producing the fault.

    **Examples.** Each verifier class provides a classmethod ``examples() -> list[(item, gold_completion)]``,
    non-empty, whose every pair scores ``correct`` with score 1. The contract test
    (``tests/verifiers/test_contract.py``) runs every registered verifier, built-in or plugin, on them: gold
    scores 1, garbage is never correct, hostile inputs are contained, verifier and verdicts pickle. A verifier
    without ``examples()`` fails there; it is never skipped. The benchmarks build their items from them too.
    """

    name: ClassVar[str]
    Config: ClassVar[type[VerifierConfig]] = VerifierConfig
    needs: ClassVar[Needs] = Needs()
    deterministic: ClassVar[bool] = True
    default_timeout: ClassVar[float] = 5.0
    bounded: ClassVar[bool] = False
    """True when ``verify`` provably answers any input quickly (bounded parsing, no search): a Ray actor may
    then run it in-process instead of behind a killable worker. Claim it only with hostile-input tests."""

    def __init__(self, config: VerifierConfig | Mapping[str, Any] | None = None):
        if config is None or isinstance(config, Mapping):
            config = self.Config.model_validate(dict(config or {}))
        elif not isinstance(config, self.Config):
            raise TypeError(f"{type(self).__name__} expects {self.Config.__name__}, got {type(config).__name__}")
        self.config = config

    @property
    def timeout(self) -> float:
        """The per-item hard timeout in seconds that a process-isolated runner enforces."""
        return self.config.timeout or self.default_timeout

    @abstractmethod
    def verify(self, item: TaskItem, completion: str) -> Verdict:
        """Score one completion against one task item. Pure: no I/O beyond what the verifier's needs declare.

        Return a new Verdict on every call (the ``Verdict`` constructors do), never a shared or cached one:
        ``safe_verify`` owns it and stamps its ``seconds`` in place (the contract test checks this).
        """

    def verify_batch(self, items: Sequence[TaskItem], completions: Sequence[str]) -> list[Verdict]:
        """Score many; an exception in one item becomes that item's ``error`` verdict."""
        if len(items) != len(completions):
            raise ValueError(f"{len(items)} items but {len(completions)} completions")
        with gc_paused():
            return [safe_verify(self, item, c) for item, c in zip(items, completions)]

    def __getstate__(self) -> dict[str, Any]:
        return {"config": self.config.model_dump()}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(state["config"])


_gc_lock = threading.Lock()
_gc_pausers = 0
_gc_was_enabled = False


@contextmanager
def gc_paused():
    """Pause the cyclic garbage collector while a batch builds its verdicts; restore its state after.

    A batch allocates one tracked object per item and no reference cycles, so the collector's passes over the
    growing result list are pure cost: on the 200k-item countdown bench they took a fifth of the time.
    Nested and concurrent uses (Ray actor threads) are counted; the last one out restores the collector.
    """
    global _gc_pausers, _gc_was_enabled
    with _gc_lock:
        if _gc_pausers == 0:
            _gc_was_enabled = gc.isenabled()
            gc.disable()
        _gc_pausers += 1
    try:
        yield
    finally:
        with _gc_lock:
            _gc_pausers -= 1
            if _gc_pausers == 0 and _gc_was_enabled:
                gc.enable()


def safe_verify(verifier: Verifier, item: TaskItem, completion: Any) -> Verdict:
    """Run ``verifier.verify`` with timing; exceptions and non-string completions become ``error`` verdicts."""
    start = time.perf_counter()
    if not isinstance(completion, str):  # checked here so every verifier gets it for free
        verdict = Verdict.error(f"completion must be a string, got {type(completion).__name__}")
    else:
        try:
            verdict = verifier.verify(item, completion)
            if not isinstance(verdict, Verdict):
                verdict = Verdict.error(f"{verifier.name}.verify returned {type(verdict).__name__}, not a Verdict")
        except Exception as exc:  # a verifier bug must never crash training
            verdict = Verdict.error(f"{type(exc).__name__} in {verifier.name}: {exc}"[:500])
    return verdict._stamp(time.perf_counter() - start)  # in place: a copy per item cost ~7% of a countdown check
