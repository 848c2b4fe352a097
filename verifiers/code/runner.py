"""Runs INSIDE the sandbox (stdlib only): the untrusted side of the code verifier. It decides nothing.

``runner.py calls``: load preamble.py (the item's imports) and solution.py, send ``{"ready": [names]}`` (its top-level callables) or
``{"failed": reason}``, then answer one JSON line per call read from stdin, ``{"call", "args", "kwargs"}``,
with ``{"ok": value}``, ``{"raised": type, "message"}`` or ``{"bad": reason}`` (a result that is not plain
data). stdin and stdout are the socket to the trusted judge; the solution sees /dev/null there instead.

``runner.py io``: run solution.py once per input in inputs.json and print ``{"case", "exit", "timeout",
"stdout", "stderr"}`` per case. Expected outputs never come here: the host compares.

A solution may tamper with all of this (it shares the process or the uid); all it can gain is to choose
the plain values or outputs the host sees, which is what answering is.
"""

import importlib.util
import json
import os
import sys

_here = os.path.dirname(os.path.abspath(__file__))
_spec = importlib.util.spec_from_file_location("_urlvr_values", os.path.join(_here, "values.py"))
values = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(values)


def _describe(exc):
    return f"{type(exc).__name__}: {exc}"[:300]


def _send(fd, message):
    data = (json.dumps(message, separators=(",", ":")) + "\n").encode()
    while data:
        data = data[os.write(fd, data):]


def _lines(fd):
    buf = b""
    while True:
        chunk = os.read(fd, 1 << 16)
        if not chunk:
            return
        buf += chunk
        while b"\n" in buf:
            line, buf = buf.split(b"\n", 1)
            yield line


def _load(ns):
    for name in ("preamble.py", "solution.py"):  # the item's imports, then the solution
        with open(name) as f:
            code = compile(f.read(), name, "exec")
        exec(code, ns)


def serve_calls():
    chan = os.dup(0)
    null = os.open(os.devnull, os.O_RDWR)
    os.dup2(null, 0)
    os.dup2(null, 1)  # the solution's prints must not mix with the answers
    sys.stdin, sys.stdout = open(os.devnull), open(os.devnull, "w")
    ns = {"__name__": "__solution__", "__builtins__": __builtins__}
    try:
        _load(ns)
    except BaseException as exc:  # SystemExit too: leaving early is not answering
        _send(chan, {"failed": f"solution failed to load: {_describe(exc)}"})
        return
    names = [k for k, v in ns.items() if not k.startswith("__") and callable(v)]
    _send(chan, {"ready": names[:1000]})
    for line in _lines(chan):
        _send(chan, _answer(ns, line))


def _answer(ns, line):
    try:
        msg = json.loads(line)
        fn = ns[msg["call"]]
        args, kwargs = values.decode(msg["args"]), values.decode(msg["kwargs"])
    except BaseException as exc:
        return {"bad": f"runner could not read the call: {_describe(exc)}"}
    try:
        result = fn(*args, **kwargs)
    except BaseException as exc:
        return {"raised": type(exc).__name__, "message": str(exc)[:300]}
    try:
        return {"ok": values.encode(result)}
    except values.NotPlain as exc:
        return {"bad": f"returned {exc}"}
    except BaseException as exc:
        return {"bad": f"returned a value that cannot be sent: {_describe(exc)}"}


def run_cases():
    try:  # keep the solution's processes out of this one's memory
        import ctypes

        ctypes.CDLL(None).prctl(4, 0, 0, 0, 0)  # PR_SET_DUMPABLE, 0
    except Exception:
        pass
    with open("inputs.json") as f:
        job = json.load(f)
    cap = int(job["stdout_bytes"])
    for i, text in enumerate(job["inputs"]):
        print(json.dumps({"case": i, **_run_case(text, job["case_timeout"], cap)}), flush=True)


def _run_case(text, timeout, cap):
    import signal
    import subprocess

    with open("/tmp/in", "w") as f:
        f.write(text)
    with open("/tmp/in") as fin, open("/tmp/out", "wb") as fout, open("/tmp/err", "wb") as ferr:
        proc = subprocess.Popen([sys.executable, "-I", "-B", "solution.py"], stdin=fin, stdout=fout, stderr=ferr,
                                start_new_session=True)
        try:
            code, timed_out = proc.wait(timeout), False
        except subprocess.TimeoutExpired:
            code, timed_out = None, True
        try:
            os.killpg(proc.pid, signal.SIGKILL)  # its children too
        except OSError:
            pass
        proc.wait()
    with open("/tmp/out", "rb") as f:
        out = f.read(cap + 1)
    with open("/tmp/err", "rb") as f:
        err = f.read()[-300:]
    return {"exit": code, "timeout": timed_out, "stdout": out.decode(errors="replace"),
            "truncated": len(out) > cap, "stderr": err.decode(errors="replace")}


if __name__ == "__main__":
    serve_calls() if sys.argv[1:] == ["calls"] else run_cases()
