"""How a batch reaches a Ray pool's actors: one transport object per pool, behind one small interface.

``SocketTransport`` sends each sub-batch over the socket its actor opens (``verifiers.ray_channel``);
``CallTransport`` sends it as a Ray actor call. Both carry the same pickled ``(items, completions)`` payload
and hand back the same events. Neither decides anything: retries, deaths, deadlines and counters belong to
the pool (``verifiers.ray_pool``), which is written once for both.
"""

from __future__ import annotations

import pickle
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing import AuthenticationError
from multiprocessing.connection import wait
from typing import Any, Protocol

import ray
from ray.exceptions import RayActorError, RayError, RayTaskError

from verifiers.ray_channel import Channel, Columns, failed_batch

CONNECT_ERRORS = (RayError, OSError, EOFError, AuthenticationError)
"""Opening an actor's socket failed: the actor is gone or stuck, or the handshake was refused or cut off."""


@dataclass(frozen=True, slots=True)
class Reply:
    """Verdicts for the next items of a slot's sub-batch, or ``error``: the rest of it could not be verified."""

    columns: Columns | None
    worker_restarts: int = 0
    error: str | None = None


@dataclass(frozen=True, slots=True)
class Lost:
    """The slot's actor died (or its connection did) while it held a sub-batch."""

    cause: BaseException


class Unreachable(Exception):
    """The slot's actor cannot be reached at all; its sub-batch is reported, not verified."""


class ActorLost(Exception):
    """``send`` found the slot's actor gone; ``cause`` is what the transport saw."""

    def __init__(self, cause: BaseException):
        super().__init__(str(cause))
        self.cause = cause


Event = tuple[int, "Reply | Lost"]


class Transport(Protocol):
    """What the pool needs from a transport: at most one sub-batch in flight per actor slot."""

    def send(self, slot: int, payload: bytes) -> None:
        """Start a pickled ``(items, completions)`` on the slot's actor. Raises ``ActorLost`` or ``Unreachable``."""

    def wait(self, slots: list[int], timeout: float | None) -> list[Event]:
        """Events from the given busy slots, waiting at most ``timeout`` seconds (empty list: none came)."""

    def reset(self, slot: int) -> None:
        """The slot's actor was restarted or replaced: forget what was in flight there and reconnect."""

    def close(self) -> None: ...


class SocketTransport:
    """Sub-batches over each actor's authenticated socket; replies stream back in chunks."""

    def __init__(self, actors: Callable[[int], Any], n: int, authkey: bytes, node: str, connect_timeout: float):
        self._actor, self._authkey, self._node, self._timeout = actors, authkey, node, connect_timeout
        self.channels: list[Channel | None] = [None] * n
        self._unreachable = "could not reach the verifier actor"  # why, after the last failed reconnect

    def connect_all(self) -> None:
        """Open every slot's socket; raises the first ``CONNECT_ERRORS`` failure (at start-up: no pool then)."""
        for slot in range(len(self.channels)):
            self.channels[slot] = self._connect(slot)

    def _connect(self, slot: int) -> Channel:
        address, key = ray.get(self._actor(slot).open_channel.remote(self._authkey, self._node), timeout=self._timeout)
        return Channel(address, key, self._timeout)

    def _reconnect(self, slot: int) -> None:
        """Open the slot's socket again; on failure it stays closed and the reason is kept for its items."""
        self._close(slot)
        try:
            self.channels[slot] = self._connect(slot)
        except CONNECT_ERRORS as exc:
            self._unreachable = f"could not reach the verifier actor ({type(exc).__name__}: {exc})"[:500]

    def send(self, slot: int, payload: bytes) -> None:
        if self.channels[slot] is None:  # could not reconnect after a death: try once more now
            self._reconnect(slot)
        channel = self.channels[slot]
        if channel is None:
            raise Unreachable(self._unreachable)
        try:
            channel.send_payload(payload)
        except (OSError, EOFError) as exc:
            raise ActorLost(exc) from None

    def wait(self, slots: list[int], timeout: float | None) -> list[Event]:
        conns = {self.channels[slot].conn: slot for slot in slots}  # type: ignore[union-attr]  # busy: connected
        events: list[Event] = []
        for conn in wait(list(conns), timeout):
            slot = conns[conn]
            try:
                columns, restarts, error = self.channels[slot].recv()  # type: ignore[union-attr]
            except (OSError, EOFError) as exc:
                events.append((slot, Lost(exc)))
                continue
            events.append((slot, Reply(columns, restarts, error)))
        return events

    def reset(self, slot: int) -> None:
        self._reconnect(slot)

    def _close(self, slot: int) -> None:
        channel, self.channels[slot] = self.channels[slot], None
        if channel is not None:
            channel.close()

    def close(self) -> None:
        for slot in range(len(self.channels)):
            self._close(slot)


class CallTransport:
    """Each sub-batch is one Ray actor call, answered in one reply."""

    def __init__(self, actors: Callable[[int], Any]):
        self._actor = actors
        self._pending: dict[Any, int] = {}  # object ref -> slot

    def send(self, slot: int, payload: bytes) -> None:
        self._pending[self._actor(slot).verify.remote(payload)] = slot

    def wait(self, slots: list[int], timeout: float | None) -> list[Event]:
        refs = [ref for ref, slot in self._pending.items() if slot in slots]
        done, _ = ray.wait(refs, num_returns=1, timeout=timeout)
        return [(self._pending.pop(ref), self._fetch(ref)) for ref in done]

    @staticmethod
    def _fetch(ref: Any) -> Reply | Lost:
        try:
            columns, restarts = pickle.loads(ray.get(ref))
        except RayActorError as exc:
            return Lost(exc)
        except RayTaskError as exc:  # a bug in the actor's own code: reported on the items
            detail = str(exc).splitlines()[-1] if str(exc) else type(exc).__name__  # the cause's "Type: message"
            return Reply(None, 0, failed_batch(detail))
        return Reply(columns, restarts)

    def reset(self, slot: int) -> None:
        for ref in [ref for ref, s in self._pending.items() if s == slot]:
            del self._pending[ref]  # an unresponsive actor's call: its answer, if one ever comes, is not wanted

    def close(self) -> None:
        self._pending.clear()
