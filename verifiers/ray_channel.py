"""The ``socket`` transport of the Ray pool: batches travel over an authenticated socket that each actor opens.

Ray still places, restarts and kills the actors; only the bytes of a batch take the short way. Measured on a
2-core machine: a Ray actor call costs ~0.5 ms of latency and ~0.28 ms of CPU on each side, a Unix socket
round trip 14 us. Ray's compiled graphs (shared-memory channels) reach 35 us but keep the actor spinning at
100% of a core while idle, which a trainer on the same machine cannot spare.

Protocol: the driver sends one pickled ``(items, completions)`` sub-batch; the actor answers with one message
per chunk, each a pickled ``(columns, worker_restarts, error)``. Streaming lets the driver rebuild chunk k while
the actor checks chunk k+1; chunks halve what is left (``reply_sizes``), so that few replies are sent and the
last one, which the driver rebuilds after the actor is done, is small. An ``error`` (the sub-batch could not
be verified, e.g. an item that fails to unpickle) ends the answer; the driver marks the items not yet
answered ``error``.
Connections are local Unix sockets in the abstract namespace when driver and actor share a node, TCP (with
Nagle off) otherwise; both authenticate with HMAC on a per-pool random key (``multiprocessing.connection``).
"""

from __future__ import annotations

import os
import pickle
import secrets
import socket
import sys
import threading
import time
from collections.abc import Callable, Sequence
from multiprocessing import AuthenticationError
from multiprocessing.connection import Connection, answer_challenge, deliver_challenge
from typing import Any

from verifiers.base import Columns, from_columns, to_columns  # noqa: F401  (the wire format; re-exported)

VerifyColumns = Callable[[list[Any], list[str]], tuple[Columns, int]]
"""What an actor provides: verify a chunk, return its columns and how many worker processes it restarted."""

Address = tuple[str, Any]
"""``(family, address)`` of an actor's listener, as ``multiprocessing.connection`` takes them."""

Reply = tuple["Columns | None", int, "str | None"]


def failed_batch(detail: str) -> str:
    """The reason on items whose batch the actor could not verify (either transport)."""
    return f"the verifier actor failed on this batch: {detail}"[:500]


def failure_reason(exc: BaseException) -> str:
    text = str(exc).splitlines()[-1] if str(exc) else ""
    return failed_batch(f"{type(exc).__name__}{': ' + text if text else ''}")


# --------------------------------------------------------------------------- actor side


def reply_sizes(n: int, min_chunk: int) -> list[tuple[int, int]]:
    """``(start, stop)`` of each reply: half of what is left, never under ``min_chunk`` (1024, 32 -> 512, 256,
    128, 64, 32, 32). The driver rebuilds each while the actor checks the next, and only the last waits."""
    spans, lo = [], 0
    while lo < n:
        hi = min(n, lo + max(min_chunk, (n - lo) // 2))
        spans.append((lo, hi))
        lo = hi
    return spans


class ChannelServer:
    """Actor side: accepts authenticated connections; answers each sub-batch with a stream of chunk replies."""

    def __init__(self, verify_columns: VerifyColumns, min_chunk: int):
        self.verify_columns = verify_columns
        self.min_chunk = min_chunk
        self.address: Address | None = None
        self.connections: list[Connection] = []  # accepted so far (a driver reconnects after each actor death)
        self._listener: socket.socket | None = None
        self.authkey = b""  # the first opener's: every later driver gets it (see VerifierActor.open_channel)

    def open(self, authkey: bytes, tcp: bool) -> Address:
        """Start listening (once per actor process) and return where to connect."""
        if self._listener is None:
            if tcp or not sys.platform.startswith("linux"):
                import ray

                family, where = "AF_INET", (ray.util.get_node_ip_address(), 0)
            else:  # abstract namespace: no socket file to leave behind when the actor is killed
                family, where = "AF_UNIX", f"\0urlvr-verifier-{secrets.token_hex(8)}"
            listener = socket.socket(getattr(socket, family))
            listener.bind(where)
            listener.listen(16)
            self._listener, self.authkey = listener, authkey
            self.address = (family, listener.getsockname())
            threading.Thread(target=self._accept_loop, daemon=True, name="urlvr-channel-accept").start()
        assert self.address is not None
        return self.address

    def _accept_loop(self) -> None:
        assert self._listener is not None
        while True:
            try:
                sock, _ = self._listener.accept()
            except OSError:  # e.g. out of file descriptors for a moment
                time.sleep(0.1)
                continue
            threading.Thread(target=self._serve, args=(sock,), daemon=True, name="urlvr-channel").start()

    def _serve(self, sock: socket.socket) -> None:
        if sock.family == socket.AF_INET:  # see Channel: no Nagle on streamed replies
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        try:
            conn = authenticated(sock, self.authkey, server=True)
        except (OSError, EOFError, AuthenticationError):  # wrong key, or a peer that stalled or left
            return
        self.connections = [c for c in self.connections if not c.closed] + [conn]
        with conn:
            try:
                while True:
                    payload = conn.recv_bytes()
                    for reply in self.answer(payload):
                        conn.send_bytes(reply)
            except (OSError, EOFError):  # the driver closed the pool or died
                return

    def answer(self, payload: bytes):
        """Pickled replies for one pickled sub-batch: one per chunk, or an error that ends the answer."""
        try:
            items, completions = pickle.loads(payload)
            for lo, hi in reply_sizes(len(items), self.min_chunk):
                columns, restarts = self.verify_columns(items[lo:hi], completions[lo:hi])
                yield pickle.dumps((columns, restarts, None), protocol=pickle.HIGHEST_PROTOCOL)
        except Exception as exc:  # a bug or bad item on this batch: report it on the items, keep serving
            yield pickle.dumps((None, 0, failure_reason(exc)), protocol=pickle.HIGHEST_PROTOCOL)


# --------------------------------------------------------------------------- driver side


class Channel:
    """Driver side of one actor's socket."""

    def __init__(self, address: Address, authkey: bytes, timeout: float):
        self.family, where = address
        sock = socket.socket(getattr(socket, self.family))
        try:
            sock.settimeout(timeout)  # a listener that is gone must not hang the driver
            sock.connect(where)
            if self.family == "AF_INET":  # replies are small and streamed: Nagle plus delayed ACKs would add 40 ms each
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self.conn = authenticated(sock, authkey, server=False, seconds=timeout)
        finally:
            sock.close()

    def send(self, items: list[Any], completions: list[str]) -> None:
        self.send_payload(pickle.dumps((items, completions), protocol=pickle.HIGHEST_PROTOCOL))

    def send_payload(self, payload: bytes) -> None:
        """Send an already pickled ``(items, completions)``."""
        self.conn.send_bytes(payload)

    def recv(self) -> Reply:
        return pickle.loads(self.conn.recv_bytes())

    def close(self) -> None:
        try:
            self.conn.close()
        except OSError:
            pass


HANDSHAKE_SECONDS = 10.0


def authenticated(sock: socket.socket, authkey: bytes, server: bool, seconds: float = HANDSHAKE_SECONDS) -> Connection:
    """The connected ``sock`` as a ``Connection``, once each end has proved it holds ``authkey`` (HMAC challenges).

    A peer that stalls the handshake is cut off after ``seconds``. ``sock`` itself is closed; the connection
    keeps its own descriptor, blocking (batches may take long: per-item timeouts live in the actor).
    """
    sock.settimeout(None)
    conn = Connection(os.dup(sock.fileno()))
    watchdog = threading.Timer(seconds, _cut, (sock,))
    watchdog.start()
    try:
        if server:
            deliver_challenge(conn, authkey)
            answer_challenge(conn, authkey)
        else:
            answer_challenge(conn, authkey)
            deliver_challenge(conn, authkey)
    except BaseException:
        conn.close()
        raise
    finally:
        watchdog.cancel()
        sock.close()
    return conn


def _cut(sock: socket.socket) -> None:
    try:
        sock.shutdown(socket.SHUT_RDWR)  # wakes the blocked read in the handshake with EOF
    except OSError:
        pass
