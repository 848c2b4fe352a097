"""The trusted judge (stdlib only): runs an item's tests outside the sandbox, against a proxy of the solution.

One judge process serves one verifier thread: it reads a job and the socket to a sandboxed ``runner.py
calls`` from its control socket, forks, and the child runs the dataset's test code with every function the
solution defines replaced by a proxy that sends the call's arguments to the sandbox and gets a plain value
back (see ``values``). Comparisons and asserts run here, on plain values only; expected outputs never leave
this process. The host kills the judge when it overruns, so its time limit sits at a process boundary.

Control messages are length-prefixed JSON; a job carries the sandbox socket as SCM_RIGHTS. Reply:
``{"passed", "total", "calls", "failures", "fatal", "limit", "item_error"}``.
"""

import builtins
import importlib.util
import json
import os
import socket
import struct
import sys
import time

_here = os.path.dirname(os.path.abspath(__file__))
_spec = importlib.util.spec_from_file_location("_urlvr_values", os.path.join(_here, "values.py"))
values = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(values)

_HEADER = struct.Struct(">I")


class Fault(BaseException):
    """The solution broke the protocol, ended, or ran out of time: the run fails whatever the tests catch."""


class CandidateError(Exception):
    """The solution raised an exception that is not a builtin one (only its name and message crossed)."""


class Channel:
    """The socket to the sandboxed runner: one JSON line each way per call, under a deadline and a size cap."""

    def __init__(self, sock, deadline, cap):
        self.sock, self.deadline, self.cap = sock, deadline, cap
        self.buf, self.scanned, self.calls = bytearray(), 0, 0
        self.fault, self.limit = None, False

    def fail(self, reason, limit=False):
        if self.fault is None:
            self.fault, self.limit = reason, limit
        raise Fault(self.fault)

    def _time_left(self):
        left = self.deadline - time.monotonic()
        if left <= 0:
            self.fail("the solution ran over the time limit", limit=True)
        self.sock.settimeout(left)

    def send(self, message):
        self._time_left()
        try:
            self.sock.sendall((json.dumps(message, separators=(",", ":")) + "\n").encode())
        except socket.timeout:
            self.fail("the solution ran over the time limit", limit=True)
        except OSError:
            self.fail("the solution's process ended before answering")

    def read(self):
        """The next JSON object the runner sent."""
        while True:
            end = self.buf.find(b"\n", self.scanned)
            if end > self.cap or (end < 0 and len(self.buf) > self.cap):
                self.fail(f"the solution's answer is over {self.cap} bytes")
            if end >= 0:
                line = bytes(self.buf[:end])
                del self.buf[: end + 1]
                self.scanned = 0
                try:
                    msg = json.loads(line)
                except (ValueError, RecursionError):
                    self.fail("the solution broke the protocol: an answer that is not JSON")
                if type(msg) is not dict:
                    self.fail("the solution broke the protocol: an answer that is not an object")
                return msg
            self.scanned = len(self.buf)
            self._time_left()
            try:
                chunk = self.sock.recv(1 << 16)
            except socket.timeout:
                self.fail("the solution ran over the time limit", limit=True)
            except OSError:
                chunk = b""
            if not chunk:
                self.fail("the solution's process ended before answering")
            self.buf += chunk

    def call(self, name, args, kwargs):
        """Forward one call; return the plain value, raise what the solution raised, or fail the run."""
        if self.fault is not None:
            raise Fault(self.fault)
        try:
            message = {"call": name, "args": values.encode(list(args)), "kwargs": values.encode(dict(kwargs))}
        except values.NotPlain as exc:  # made by the tests themselves, not by the solution
            raise TypeError(f"the tests passed {exc} to {name}") from None
        self.calls += 1
        self.send(message)
        reply = self.read()
        if "ok" in reply:
            try:
                return values.decode(reply["ok"])
            except values.NotPlain as exc:
                self.fail(f"{name} returned {exc}")
        if "raised" in reply:
            raise _exception(str(reply.get("raised"))[:80], str(reply.get("message", ""))[:300])
        self.fail(f"{name}: {str(reply.get('bad', 'the solution broke the protocol'))[:300]}")


def _exception(name, message):
    """A builtin exception of the same name (so tests that expect one can catch it), else CandidateError."""
    cls = getattr(builtins, name, None)
    if isinstance(cls, type) and issubclass(cls, Exception):
        try:
            return cls(message)
        except Exception:
            pass
    return CandidateError(f"{name}: {message}")


def proxy(chan, name):
    """A function standing in for the solution's ``name``."""

    def candidate(*args, **kwargs):
        return chan.call(name, args, kwargs)

    candidate.__name__ = candidate.__qualname__ = name
    return candidate


def _describe(exc):
    return f"{type(exc).__name__}: {exc}"[:300]


def judge(job, chan):
    """Run every test unit against proxies of the solution; the reply dict described in the module docstring."""
    reply = {"passed": 0, "total": len(job["tests"]), "calls": 0, "failures": [], "fatal": None, "limit": False,
             "item_error": None}
    try:
        names = _ready(chan, job.get("entry_point"))
        for i, unit in enumerate(job["tests"]):
            outcome = _run_unit(job, i, unit, chan, names)
            if outcome is True:
                reply["passed"] += 1
            elif outcome.startswith("bad task item"):
                reply["item_error"] = outcome
                break
            elif len(reply["failures"]) < 5:
                reply["failures"].append(outcome)
            if chan.fault is not None:
                break
    except Fault:
        pass
    reply.update(calls=chan.calls, fatal=chan.fault, limit=chan.limit)
    return reply


def _ready(chan, entry):
    first = chan.read()
    if "failed" in first:
        chan.fail(str(first["failed"])[:300])
    names = first.get("ready")
    if type(names) is not list or not all(type(n) is str and n.isidentifier() for n in names):
        chan.fail("the solution broke the protocol: a bad list of names")
    if entry and entry not in names:
        chan.fail(f"solution does not define function {entry!r}")
    return names


def _run_unit(job, i, unit, chan, names):
    """True, or why unit ``i`` failed ("bad task item: ..." when the item's own code does not run)."""
    ns = {"__name__": "__test__", "__builtins__": builtins}
    try:
        for label, code in (("setup", job.get("setup")), ("starter", job.get("starter"))):
            if code:
                exec(compile(code, f"{label}.py", "exec"), ns)
    except Exception as exc:
        return f"bad task item: its {label} code fails: {_describe(exc)}"
    entry = job.get("entry_point")
    for name in names:  # never a builtin or a dunder: a solution's ``all`` must not judge the tests
        if name == entry or (name not in ns and not hasattr(builtins, name) and not name.startswith("__")):
            ns[name] = proxy(chan, name)
    try:
        exec(compile(unit, f"test_{i}.py", "exec"), ns)
        check = ns.get("check") if entry else None
        if callable(check):
            check(ns[entry])
        return True
    except Fault:
        raise
    except BaseException as exc:
        kind = "assertion failed" if isinstance(exc, AssertionError) else "error"
        return f"test {i} {kind}: {_describe(exc)}"


def _recv_exact(sock, n, first=b""):
    data = bytearray(first)
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if not chunk:
            raise EOFError
        data += chunk
    return bytes(data)


def _serve_one(ctrl, job, fd):
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: its crash or overrun cannot take the server with it
        os.close(r)
        try:
            sock = socket.socket(fileno=fd)
            chan = Channel(sock, time.monotonic() + float(job["seconds"]), int(job["answer_bytes"]))
            out = judge(job, chan)
            sock.close()  # EOF: the runner exits
        except BaseException as exc:
            out = {"internal": _describe(exc)}
        data = json.dumps(out).encode()
        while data:
            data = data[os.write(w, data):]
        os._exit(0)
    os.close(w)
    os.close(fd)
    chunks = []
    while True:
        chunk = os.read(r, 1 << 16)
        if not chunk:
            break
        chunks.append(chunk)
    os.close(r)
    _, status = os.waitpid(pid, 0)
    data = b"".join(chunks) or json.dumps({"internal": f"judge child died (wait status {status})"}).encode()
    ctrl.sendall(_HEADER.pack(len(data)) + data)


def main(ctrl_fd):
    ctrl = socket.socket(fileno=ctrl_fd)
    while True:
        try:
            head, fds, _, _ = socket.recv_fds(ctrl, _HEADER.size, 1)
            if not head:
                return  # the verifier closed: done
            head = _recv_exact(ctrl, _HEADER.size, head)
            job = json.loads(_recv_exact(ctrl, _HEADER.unpack(head)[0]))
        except (EOFError, OSError):
            return
        if len(fds) != 1:
            ctrl.sendall(_HEADER.pack(2) + b"{}")
            continue
        _serve_one(ctrl, job, fds[0])


if __name__ == "__main__":
    main(int(sys.argv[1]))
