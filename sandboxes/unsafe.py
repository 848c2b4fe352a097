"""The ``subprocess`` backend: UNSAFE. rlimits and a wall-clock kill only, no isolation at all.

The program runs as this user, with network access and the host's file system; it can read secrets, write
anywhere this user can, and leave processes behind by escaping its process group. Use it only for trusted
code or as a speed baseline, and only by choosing it explicitly (``unsafe_ok: true``).
"""

from __future__ import annotations

import os
import resource
import shutil
import subprocess
import tempfile
from collections.abc import Mapping

from pydantic import Field

from sandboxes.base import ExecResult, Files, Limits, Sandbox, SandboxConfig, SandboxError, close_fd
from sandboxes.process import LiveProcesses, drain, rlimits

_DEFAULT_ENV = {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"}


class SubprocessConfig(SandboxConfig):
    """Options of the UNSAFE subprocess backend."""

    unsafe_ok: bool = Field(default=False, description="Must be true: acknowledges that this backend isolates nothing.")


class UnsafeSubprocessSandbox(Sandbox):
    """Runs programs as plain child processes of this one. NOT a sandbox; see the module docstring."""

    name = "subprocess"
    Config = SubprocessConfig
    safe = False
    attachable = True

    def __init__(self, config: SubprocessConfig | Mapping | None = None):
        super().__init__(config)
        if not self.config.unsafe_ok:
            raise SandboxError("the 'subprocess' backend runs code UNSANDBOXED; set unsafe_ok=true to use it anyway")
        self._live = LiveProcesses()

    def run(self, argv, files: Files | None = None, stdin: str | bytes = b"", env: Mapping[str, str] | None = None,
            limits: Limits | None = None, attach: int | None = None) -> ExecResult:
        limits, contents = self._prepare(argv, files, limits, attach)
        io = subprocess.PIPE if attach is None else attach
        workdir = tempfile.mkdtemp(prefix="urlvr-unsafe-")
        try:
            try:
                _write_files(workdir, contents)
            except BaseException:
                close_fd(attach)
                raise
            limit_values = rlimits(limits)
            try:
                proc = subprocess.Popen(
                    list(argv), cwd=workdir, env={**_DEFAULT_ENV, "HOME": workdir, **(env or {})},
                    stdin=io, stdout=io, stderr=subprocess.PIPE, start_new_session=True,
                    preexec_fn=lambda: [resource.setrlimit(k, v) for k, v in limit_values.items()],
                )
            except OSError as exc:
                raise SandboxError(f"could not start {argv[0]!r}: {exc}") from exc
            finally:
                close_fd(attach)  # the program holds it now (or never will)
            self._live.add(proc)
            try:
                stdin_bytes = b"" if attach is not None else stdin.encode() if isinstance(stdin, str) else bytes(stdin)
                d = drain(proc, stdin_bytes, limits)
            finally:
                self._live.discard(proc)
        finally:
            shutil.rmtree(workdir, ignore_errors=True)
        return _result(d, limits)

    def close(self) -> None:
        super().close()
        self._live.kill_all()


def _write_files(workdir: str, contents: dict[str, bytes]) -> None:
    for name, data in contents.items():
        path = os.path.join(workdir, name)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as f:
            f.write(data)


def _result(d, limits: Limits) -> ExecResult:
    code = os.waitstatus_to_exitcode(d.status)
    cpu = d.rusage.ru_utime + d.rusage.ru_stime
    peak = d.rusage.ru_maxrss / 1024
    reason = None
    if d.wall_killed:
        reason = "wall"
    elif code != 0 and (cpu >= limits.cpu_seconds - 0.05 or (code == -24 and cpu >= 0.8 * limits.cpu_seconds)):
        reason = "cpu"
    elif code != 0 and d.stderr.text().rstrip().endswith("MemoryError"):
        reason = "memory"
    return ExecResult(
        exit_code=None if d.wall_killed else code, stdout=d.stdout.text(), stderr=d.stderr.text(),
        stdout_truncated=d.stdout.truncated, stderr_truncated=d.stderr.truncated, wall_seconds=d.wall_seconds,
        cpu_seconds=cpu, peak_memory_mb=peak, killed=reason is not None, kill_reason=reason,
    )
