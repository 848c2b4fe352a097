"""A STAND-IN for the Lean REPL (leanprover-community/repl): it tests the pool's plumbing, never a proof.

It speaks the REPL's JSON protocol (commands separated by blank lines; each answer a JSON object followed by
a blank line; ``env`` ids that later commands name) but checks nothing: it answers from markers in the text.

Markers in a command: STANDIN_HANG (never answers), STANDIN_CRASH (exits with code 11), STANDIN_CRASH_ONCE
(exits unless the --state file exists, creating it first), STANDIN_ERROR (an error message), STANDIN_SORRY (a
sorry entry), STANDIN_SORRY_WARNING (a "declaration uses 'sorry'" warning), STANDIN_AXIOM (the check below it
reports sorryAx), STANDIN_BIG (a 20 MB answer), STANDIN_GARBAGE (an answer that is not JSON). A command with
``#print axioms NAME`` gets the info message Lean gives (``'NAME' depends on axioms: [propext]``).
STANDIN_PROBE_FILE=PATH and STANDIN_PROBE_NET=PORT report, as an error message, whether the stand-in could read
that file or connect to that port on 127.0.0.1 (to test the sandbox around the REPL).
Options: --mode ok|crash_at_start|hang_header|header_error, --log FILE (one line per command), --alloc-mb N,
--child-pidfile FILE (start a sleeping child process, as ``lake env`` would, and write its pid there).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import time


def answer(obj: dict) -> None:
    sys.stdout.write(json.dumps(obj, indent=2) + "\n\n")
    sys.stdout.flush()


def respond(cmd: str, lineage: str, env: int, state: str | None) -> dict:
    text = lineage + cmd
    if "STANDIN_HANG" in cmd:
        while True:
            time.sleep(60)
    if "STANDIN_CRASH_ONCE" in cmd and state and not os.path.exists(state):
        open(state, "w").close()
        os._exit(11)
    if "STANDIN_CRASH" in cmd and "STANDIN_CRASH_ONCE" not in cmd:
        os._exit(11)
    if "STANDIN_GARBAGE" in cmd:
        sys.stdout.write("this is not json\n\n")
        sys.stdout.flush()
        return {}
    out: dict = {"env": env, "messages": []}
    if "STANDIN_ERROR" in cmd:
        out["messages"].append({"severity": "error", "pos": {"line": 1, "column": 0}, "data": "stand-in error"})
    if "STANDIN_SORRY" in cmd and "STANDIN_SORRY_WARNING" not in cmd:
        out["sorries"] = [{"pos": {"line": 1, "column": 0}, "endPos": {"line": 1, "column": 5}, "goal": "⊢ True"}]
    if "STANDIN_SORRY_WARNING" in cmd:
        out["messages"].append({"severity": "warning", "pos": {"line": 1, "column": 0}, "data": "declaration uses 'sorry'"})
    if "STANDIN_BIG" in cmd:
        out["messages"].append({"severity": "info", "pos": {"line": 1, "column": 0}, "data": "x" * (20 * 2**20)})
    for probe in re.finditer(r"STANDIN_PROBE_(FILE|NET)=(\S+)", cmd):
        out["messages"].append({"severity": "error", "pos": {"line": 1, "column": 0}, "data": run_probe(*probe.groups())})
    printed = re.search(r"#print axioms (\S+)", cmd)
    if printed:
        axioms = "[propext, sorryAx]" if "STANDIN_AXIOM" in text else "[propext]"
        out["messages"].append({"severity": "info", "pos": {"line": 2, "column": 0},
                                "data": f"'{printed.group(1)}' depends on axioms: {axioms}"})
    return out


def run_probe(kind: str, target: str) -> str:
    try:
        if kind == "FILE":
            with open(target) as f:
                return f"probe: read {f.read()[:20]!r}"
        import socket

        with socket.create_connection(("127.0.0.1", int(target)), timeout=5):
            return "probe: connected"
    except OSError as exc:
        return f"probe: refused ({type(exc).__name__})"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--mode", default="ok")
    parser.add_argument("--log")
    parser.add_argument("--state")
    parser.add_argument("--alloc-mb", type=int, default=0)
    parser.add_argument("--child-pidfile")
    args = parser.parse_args()
    if args.child_pidfile:
        import subprocess

        child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
        with open(args.child_pidfile, "w") as f:
            f.write(str(child.pid))
    if args.mode == "crash_at_start":
        sys.exit(3)
    ballast = bytearray(args.alloc_mb * 2**20)
    for k in range(0, len(ballast), 4096):
        ballast[k] = 1  # touch the pages so they count as resident
    envs: dict[int, str] = {}
    lines: list[str] = []
    for line in sys.stdin:
        if line.strip():
            lines.append(line)
            continue
        if not lines:
            continue
        request = json.loads("".join(lines))
        lines = []
        cmd, parent = request["cmd"], request.get("env")
        if args.log:
            with open(args.log, "a") as f:
                f.write(json.dumps({"pid": os.getpid(), "env": parent, "cmd": cmd[:80]}) + "\n")
        if parent is None and args.mode == "hang_header":
            while True:
                time.sleep(60)
        if parent is not None and parent not in envs:
            answer({"message": f"Unknown environment {parent}."})
            continue
        env = len(envs)
        envs[env] = (envs.get(parent, "") if parent is not None else "") + cmd
        if parent is None and args.mode == "header_error":
            answer({"env": env, "messages": [{"severity": "error", "pos": {"line": 1, "column": 0},
                                               "data": "unknown module prefix 'Mathlib'"}]})
            continue
        reply = respond(cmd, envs.get(parent, "") if parent is not None else "", env, args.state)
        if reply:
            answer(reply)


if __name__ == "__main__":
    main()
