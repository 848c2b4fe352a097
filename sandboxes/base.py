"""The sandbox contract: run an argv with files, stdin, an environment and limits; get a frozen ExecResult.

A backend is a context manager: leaving the ``with`` block kills whatever it still runs and frees its
resources. ``run`` is thread-safe, so one backend can serve several concurrent executions. Backends with
``attachable`` can instead wire the program's stdin and stdout to a socket the caller holds the other end of
(for a conversation with a trusted process while the program runs).
"""

from __future__ import annotations

import os
import sys
import threading
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field

KillReason = Literal["wall", "cpu", "memory"]
Files = Mapping[str, "str | bytes"]


class SandboxError(RuntimeError):
    """The sandbox itself failed (could not start, could not apply limits); not the program's fault."""


class Limits(BaseModel):
    """Resource limits of one execution."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    wall_seconds: float = Field(default=10.0, gt=0, description="Wall-clock limit; the whole sandbox is killed at it.")
    cpu_seconds: float = Field(default=10.0, gt=0, description="CPU-time limit per process (RLIMIT_CPU).")
    memory_mb: int = Field(default=512, ge=16, description="Memory limit (cgroup when available, else RLIMIT_AS).")
    processes: int = Field(default=64, ge=1, description="Process/thread limit (cgroup pids.max and RLIMIT_NPROC).")
    file_size_mb: int = Field(default=16, ge=1, description="Largest file a process may write (RLIMIT_FSIZE).")
    open_files: int = Field(default=256, ge=16, description="Open file descriptors per process (RLIMIT_NOFILE).")
    output_bytes: int = Field(default=1 << 20, ge=1024, description="Captured bytes per stream; the rest is dropped.")
    tmpfs_mb: int = Field(default=64, ge=1, description="Size of the private work directory and /tmp.")


@dataclass(frozen=True)
class ExecResult:
    """What one execution did. ``exit_code`` is None when the program was killed before it exited.

    ``cpu_seconds``/``peak_memory_mb`` are None when the backend cannot measure them. ``killed`` is True when a
    limit ended the run; ``kill_reason`` says which (the host's own measurement, not the program's word).
    """

    exit_code: int | None
    stdout: str
    stderr: str
    stdout_truncated: bool
    stderr_truncated: bool
    wall_seconds: float
    cpu_seconds: float | None
    peak_memory_mb: float | None
    killed: bool
    kill_reason: KillReason | None = None

    @property
    def ok(self) -> bool:
        return self.exit_code == 0 and not self.killed


class SandboxConfig(BaseModel):
    """Options shared by every backend."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    limits: Limits = Field(default_factory=Limits, description="Limits used when ``run`` is given none.")


def base_python() -> str:
    """The real interpreter binary behind this process (venv symlinks and shims resolved)."""
    exe = getattr(sys, "_base_executable", None) or sys.executable
    return os.path.realpath(exe)


def base_prefix() -> str:
    """The installation prefix of the real interpreter, which a sandbox must bind read-only to run it."""
    return os.path.realpath(sys.base_prefix)


def check_files(files: Files | None) -> dict[str, bytes]:
    """Validate relative file names (no absolute paths, no ``..``) and encode contents to bytes."""
    out: dict[str, bytes] = {}
    for name, content in (files or {}).items():
        path = PurePosixPath(name)
        if not name or path.is_absolute() or ".." in path.parts or "\0" in name:
            raise ValueError(f"sandbox file name {name!r} must be a relative path without '..'")
        out[str(path)] = content.encode() if isinstance(content, str) else bytes(content)
    return out


def close_fd(fd: int | None) -> None:
    """Close ``fd`` if it is one; an fd already closed is fine."""
    if fd is not None and fd >= 0:
        try:
            os.close(fd)
        except OSError:
            pass


class Sandbox(ABC):
    """A backend that runs programs in isolation. Use as a context manager to guarantee teardown."""

    name: ClassVar[str]
    Config: ClassVar[type[SandboxConfig]] = SandboxConfig
    safe: ClassVar[bool] = True
    """False for backends that do not isolate the program from the host."""
    attachable: ClassVar[bool] = False
    """True for backends whose ``run`` accepts ``attach``."""

    def __init__(self, config: SandboxConfig | Mapping[str, Any] | None = None):
        if config is None or isinstance(config, Mapping):
            config = self.Config.model_validate(dict(config or {}))
        elif not isinstance(config, self.Config):
            raise TypeError(f"{type(self).__name__} expects {self.Config.__name__}, got {type(config).__name__}")
        self.config = config
        self._closed = False
        self._lock = threading.Lock()

    @property
    def python(self) -> str:
        """The Python interpreter to put in argv[0] for this backend."""
        return base_python()

    @abstractmethod
    def run(
        self,
        argv: Sequence[str],
        files: Files | None = None,
        stdin: str | bytes = b"",
        env: Mapping[str, str] | None = None,
        limits: Limits | None = None,
        attach: int | None = None,
    ) -> ExecResult:
        """Run ``argv`` in a fresh work directory holding ``files``; raise SandboxError if the sandbox fails.

        ``attach``: a socket fd to use as the program's stdin and stdout instead of ``stdin`` and the captured
        stdout (only on ``attachable`` backends). The backend closes it, on every path, once the program holds
        it, so the other end reads EOF when the program ends.
        """

    def close(self) -> None:
        """Kill anything still running and free resources. Idempotent."""
        self._closed = True

    def _check_open(self) -> None:
        if self._closed:
            raise SandboxError(f"{self.name} sandbox is closed")

    def _prepare(self, argv, files: Files | None, limits: Limits | None,
                 attach: int | None = None) -> tuple[Limits, dict[str, bytes]]:
        """The checks every backend's ``run`` starts with: open, non-empty argv; the limits and files to use."""
        try:
            self._check_open()
            if attach is not None and not self.attachable:
                raise SandboxError(f"the {self.name} backend cannot attach a socket to a program")
            if not argv:
                raise ValueError("argv must not be empty")
            return limits or self.config.limits, check_files(files)
        except BaseException:
            close_fd(attach)
            raise

    def __enter__(self) -> Sandbox:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
