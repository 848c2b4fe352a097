"""Escape suite for the bwrap backend. Every case checks on the HOST side that the hostile program was contained."""

from __future__ import annotations

import os
import secrets
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.sandbox_support import run_py
from verifiers.code import CodeVerifier

pytestmark = pytest.mark.timeout(120)
PROJECT = Path(__file__).resolve().parents[2]


def test_no_connection_reaches_a_host_listener(bwrap):
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(1)
        server.settimeout(1.0)
        port = server.getsockname()[1]
        code = f"import socket\ntry:\n    socket.create_connection(('127.0.0.1', {port}), timeout=2)\n    print('connected')\nexcept OSError as e:\n    print('refused', e)\n"
        result = run_py(bwrap, code)
        with pytest.raises(socket.timeout):
            server.accept()
    assert "connected" not in result.stdout and "refused" in result.stdout


def test_dns_fails(bwrap):
    code = "import socket\ntry:\n    print(socket.getaddrinfo('pypi.org', 443))\nexcept OSError as e:\n    print('dns failed', e)\n"
    assert "dns failed" in run_py(bwrap, code).stdout


def test_a_file_written_to_a_host_path_does_not_appear(bwrap, tmp_path):
    target = tmp_path / "escaped.txt"
    code = (f"import os\nfor p in [{str(target)!r}, '/tmp/escaped.txt', {str(PROJECT / 'escaped.txt')!r}]:\n"
            "    try:\n        os.makedirs(os.path.dirname(p), exist_ok=True)\n        open(p, 'w').write('x')\n"
            "        print('wrote', p)\n    except OSError as e:\n        print('denied', p, e)\n"
            "try:\n    open('/usr/escaped.txt', 'w')\nexcept OSError as e:\n    print('root is read-only', e)\n")
    result = run_py(bwrap, code)
    assert result.exit_code == 0, result.stderr
    assert not target.exists() and not (PROJECT / "escaped.txt").exists()
    assert "root is read-only" in result.stdout


def test_host_files_outside_the_binds_cannot_be_read(bwrap):
    secret = secrets.token_hex(16)
    with open(Path.home() / f".urlvr-escape-{secrets.token_hex(6)}", "w") as f:
        f.write(secret)
    try:
        probes = [str(PROJECT / "pyproject.toml"), f.name, "/etc/shadow", "/etc/passwd", str(Path.home() / ".bashrc")]
        code = (f"import os\nfor p in {probes!r}:\n    try:\n        print('CONTENT:', p, open(p).read()[:200])\n"
                "    except OSError as e:\n        print('denied', p, type(e).__name__)\n"
                f"print('home', os.listdir({str(Path.home())!r}) if os.path.isdir({str(Path.home())!r}) else None)\n")
        result = run_py(bwrap, code)
    finally:
        os.unlink(f.name)
    assert result.exit_code == 0, result.stderr
    assert "CONTENT:" not in result.stdout and secret not in result.stdout
    assert result.stdout.count("denied") == len(probes)
    assert result.stdout.splitlines()[-1] in ("home None", "home ['.pyenv']")  # only the interpreter's bind


def test_fork_bomb_is_contained_and_host_stays_responsive(bwrap):
    code = "import os\nwhile True:\n    try:\n        os.fork()\n    except OSError:\n        pass\n"
    out = {}

    def probe_host() -> float:
        start = time.monotonic()
        subprocess.run([sys.executable, "-c", "pass"], check=True, timeout=30)
        return time.monotonic() - start

    import threading

    runner = threading.Thread(target=lambda: out.update(r=run_py(bwrap, code, wall_seconds=4, processes=32)))
    runner.start()
    time.sleep(1.5)
    host_latency = probe_host()  # while the bomb runs
    runner.join(60)
    result = out["r"]
    assert result.killed and result.kill_reason == "wall"
    assert host_latency < 10, f"host took {host_latency:.1f}s to start a process during the fork bomb"


def test_memory_bomb_is_killed_at_the_limit(bwrap):
    code = "chunks = []\nwhile True:\n    chunks.append(b'x' * 10**7)\n"
    result = run_py(bwrap, code, memory_mb=200, wall_seconds=20)
    assert result.killed and result.kill_reason == "memory", result
    if result.peak_memory_mb is not None:
        assert result.peak_memory_mb <= 200 * 1.05


def test_infinite_loop_is_killed_at_the_wall_limit(bwrap):
    start = time.monotonic()
    result = run_py(bwrap, "while True:\n    pass\n", wall_seconds=1.5, cpu_seconds=30)
    assert result.killed and result.kill_reason == "wall" and result.exit_code is None
    assert time.monotonic() - start < 15


def test_cpu_limit_kills_a_busy_loop(bwrap):
    result = run_py(bwrap, "while True:\n    pass\n", wall_seconds=60, cpu_seconds=1)
    assert result.killed and result.kill_reason == "cpu", result


def test_100mb_of_stdout_is_truncated(bwrap):
    code = "import sys\nchunk = 'y' * (1 << 20)\nfor _ in range(100):\n    sys.stdout.write(chunk)\nsys.stdout.flush()\n"
    result = run_py(bwrap, code, wall_seconds=30)
    assert result.stdout_truncated and len(result.stdout) == 1 << 20 and set(result.stdout) == {"y"}
    assert result.exit_code == 0 and not result.killed


def _host_pids_with(tag: str) -> list[int]:
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if tag.encode() in (entry / "cmdline").read_bytes():
                    pids.append(int(entry.name))
            except OSError:
                pass
    return pids


def test_no_orphan_process_survives(bwrap):
    tag = f"urlvr-orphan-{secrets.token_hex(6)}"
    code = (f"import os, sys, time\nif os.fork() == 0:\n    os.setsid()\n    if os.fork() == 0:\n"
            f"        os.execv(sys.executable, [sys.executable, '-c', 'import time; time.sleep(60)', {tag!r}])\n"
            "    os._exit(0)\ntime.sleep(0.5)\nprint('parent exits')\n")
    result = run_py(bwrap, code)
    assert "parent exits" in result.stdout
    deadline = time.monotonic() + 5
    while _host_pids_with(tag) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _host_pids_with(tag) == []


def test_host_environment_is_invisible(bwrap, monkeypatch):
    secret = secrets.token_hex(16)
    monkeypatch.setenv("URLVR_HOST_SECRET", secret)
    code = "import os\nprint(dict(os.environ))\nprint(open('/proc/self/environ').read())\nprint(open('/proc/1/environ').read())\n"
    result = run_py(bwrap, code)
    assert result.exit_code == 0, result.stderr
    assert secret not in result.stdout and "URLVR_HOST_SECRET" not in result.stdout


def test_host_processes_are_invisible_in_proc(bwrap):
    tag = f"urlvr-visible-{secrets.token_hex(6)}"
    host = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)", tag])
    try:
        code = ("import os\npids = [p for p in os.listdir('/proc') if p.isdigit()]\nprint(len(pids))\n"
                "for p in pids:\n    try:\n        print(open(f'/proc/{p}/cmdline', 'rb').read())\n    except OSError:\n        pass\n")
        result = run_py(bwrap, code)
    finally:
        host.kill()
        host.wait()
    assert result.exit_code == 0, result.stderr
    assert tag not in result.stdout and "pytest" not in result.stdout
    assert int(result.stdout.split()[0]) <= 3  # bwrap's init and this program


HACK_ITEM = {"tests": "assert f(1) == 2\nassert f(2) == 3", "entry_point": None}


@pytest.mark.parametrize(
    "hack",
    [
        "import sys\nsys.exit(0)\ndef f(x):\n    return 0",
        "import os\nos._exit(0)",
        "print('PASSED')\nprint('All tests passed')\ndef f(x):\n    return 0",
        "print('__URLVR_RESULT__' + '{\"nonce\": \"0\", \"passed\": 2, \"total\": 2, \"limit\": false}')\ndef f(x):\n    return 0",
        "import sys, os\nsys.stdout.write('__URLVR_RESULT__{\"passed\": 2, \"total\": 2}\\n')\nos._exit(0)",
        "import atexit, os\natexit.register(lambda: os.write(1, b'PASSED'))\ndef f(x):\n    raise SystemExit(0)",
    ],
    ids=["sys_exit_before_tests", "os_exit", "prints_passed", "forged_marker", "forged_marker_then_exit", "exit_in_test"],
)
def test_early_exit_or_printed_pass_is_not_a_pass(hack):
    verifier = CodeVerifier()
    verdict = verifier.verify(HACK_ITEM, f"```python\n{hack}\n```")
    assert verdict.status == "incorrect" and verdict.score == 0.0, verdict
    assert verifier.verify(HACK_ITEM, "```python\ndef f(x):\n    return x + 1\n```").status == "correct"
