"""The backend contract: registry, files/stdin/env, results, limits validation, teardown; docker when an engine answers."""

from __future__ import annotations

import dataclasses
import os
import socket
import threading

import pytest
from pydantic import ValidationError

from sandboxes import SANDBOXES, Limits, Sandbox, SandboxError, make_sandbox
from sandboxes.base import check_files
from tests.sandbox_support import run_py
from verifiers.registry import RegistryError

pytestmark = pytest.mark.timeout(60)

ECHO = "import os, sys\nprint(sys.stdin.read().upper())\nprint(open('data/in.txt').read())\nprint(os.environ.get('GREETING'))\nprint(os.getcwd())\n"


def test_registry_lists_backends_and_rejects_unknown():
    assert {"bwrap", "docker", "subprocess"} <= set(SANDBOXES.names())
    with pytest.raises(RegistryError, match="valid choices: bwrap"):
        make_sandbox("nope")


def test_bwrap_runs_with_files_stdin_and_env(bwrap):
    result = bwrap.run([bwrap.python, "-I", "main.py"], files={"main.py": ECHO, "data/in.txt": b"file-data"},
                       stdin="hello", env={"GREETING": "hi"})
    assert result.ok, result.stderr
    assert result.stdout.split() == ["HELLO", "file-data", "hi", "/sandbox"]
    assert not result.stdout_truncated and not result.killed and result.kill_reason is None
    assert result.wall_seconds > 0
    with pytest.raises(dataclasses.FrozenInstanceError):
        result.exit_code = 1  # type: ignore[misc]


def test_exit_code_and_stderr_are_reported(bwrap):
    result = run_py(bwrap, "import sys\nsys.stderr.write('boom')\nsys.exit(3)")
    assert result.exit_code == 3 and result.stderr == "boom" and not result.killed and not result.ok


def test_work_directory_is_private_per_run(bwrap):
    run_py(bwrap, "open('left.txt', 'w').write('x')")
    assert "False" in run_py(bwrap, "import os\nprint(os.path.exists('left.txt'))").stdout


def test_concurrent_runs_are_independent(bwrap):
    results = {}

    def go(i: int) -> None:
        results[i] = run_py(bwrap, f"print({i} * 2)")

    threads = [threading.Thread(target=go, args=(i,)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert {i: r.stdout.strip() for i, r in results.items()} == {i: str(i * 2) for i in range(6)}


@pytest.mark.parametrize("name", ["/etc/x", "../x", "a/../../x", ""])
def test_file_names_must_stay_in_the_work_directory(name):
    with pytest.raises(ValueError, match="relative path"):
        check_files({name: "x"})


def test_limits_are_validated():
    with pytest.raises(ValidationError):
        Limits(wall_seconds=0)
    with pytest.raises(ValidationError):
        Limits(bogus=1)


def test_bad_bwrap_binary_is_a_sandbox_error(tmp_path):
    with pytest.raises(SandboxError, match="not executable"):
        make_sandbox("bwrap", {"bwrap": str(tmp_path / "missing")})


def test_a_closed_sandbox_refuses_to_run():
    sb = make_sandbox("bwrap")
    with sb:
        pass
    with pytest.raises(SandboxError, match="closed"):
        run_py(sb, "pass")


def test_subprocess_backend_must_be_opted_into():
    with pytest.raises(SandboxError, match="UNSANDBOXED"):
        make_sandbox("subprocess")
    with make_sandbox("subprocess", {"unsafe_ok": True}) as sb:
        assert not sb.safe
        result = sb.run([sb.python, "-I", "main.py"], files={"main.py": ECHO, "data/in.txt": "f"}, stdin="a",
                        env={"GREETING": "g"})
        assert result.ok and result.stdout.split()[:3] == ["A", "f", "g"]
        killed = run_py(sb, "while True:\n    pass", wall_seconds=1, cpu_seconds=30)
        assert killed.killed and killed.kill_reason == "wall"


@pytest.fixture(scope="module")
def docker_sandbox():
    try:
        sb = make_sandbox("docker")
    except SandboxError as exc:
        pytest.skip(f"docker backend unavailable: {exc}")
    with sb:
        yield sb


def test_docker_runs_without_network(docker_sandbox):
    result = run_py(docker_sandbox, "import socket\ntry:\n    socket.create_connection(('1.1.1.1', 53), timeout=2)\n    print('net')\nexcept OSError:\n    print('no net')\n")
    assert result.stdout.strip() == "no net"


def test_docker_kills_at_the_wall_limit(docker_sandbox):
    result = run_py(docker_sandbox, "while True:\n    pass", wall_seconds=2)
    assert result.killed and result.kill_reason == "wall"


ECHO_LINES = "import sys\nfor line in sys.stdin:\n    sys.stdout.write(line.upper())\n    sys.stdout.flush()\nsys.stderr.write('bye')\n"


def _converse(sb) -> tuple[list[bytes], object]:
    """Talk to an echo program over an attached socket; return what came back and the run's result."""
    ours, theirs = socket.socketpair()
    fd = theirs.detach()
    out = {}
    t = threading.Thread(target=lambda: out.update(r=sb.run([sb.python, "-I", "main.py"], files={"main.py": ECHO_LINES},
                                                            attach=fd)))
    t.start()
    got = []
    with ours, ours.makefile("rwb") as f:
        for word in (b"one\n", b"two\n"):
            f.write(word)
            f.flush()
            got.append(f.readline())
        ours.shutdown(socket.SHUT_WR)
        assert f.readline() == b""  # the program ended: the backend kept no copy of the socket open
    t.join(30)
    with pytest.raises(OSError):
        os.fstat(fd)  # the backend closed its copy
    return got, out["r"]


@pytest.mark.parametrize("backend", ["bwrap", "subprocess"])
def test_attached_socket_is_the_programs_stdin_and_stdout(backend):
    with make_sandbox(backend, {"unsafe_ok": True} if backend == "subprocess" else {}) as sb:
        assert sb.attachable
        got, result = _converse(sb)
    assert got == [b"ONE\n", b"TWO\n"]
    assert result.exit_code == 0 and result.stdout == "" and result.stderr == "bye"


def test_a_backend_that_cannot_attach_refuses_and_closes_the_socket():
    class NoAttach(Sandbox):  # stand-in for the docker backend (no engine here), which is not attachable either
        name = "no-attach"

        def run(self, argv, files=None, stdin=b"", env=None, limits=None, attach=None):
            self._prepare(argv, files, limits, attach)

    ours, theirs = socket.socketpair()
    fd = theirs.detach()
    with ours, pytest.raises(SandboxError, match="cannot attach"):
        NoAttach().run(["x"], attach=fd)
    with pytest.raises(OSError):
        os.fstat(fd)
    assert not SANDBOXES.get("docker").attachable
