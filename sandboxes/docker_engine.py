"""The ``docker`` backend: one throw-away container per run, through the docker SDK (imported lazily).

No network, a read-only root file system, tmpfs work directory and /tmp, all capabilities dropped, uid 65534,
and memory, CPU, pids and rlimit caps. Needs a reachable engine and an image with Python for ``python``.
Files travel in an environment variable and a tiny bootstrap writes them to the tmpfs before exec'ing argv.
"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Mapping

from pydantic import Field

from sandboxes.base import ExecResult, Files, Limits, Sandbox, SandboxConfig, SandboxError

WORKDIR = "/sandbox"
_BOOT = (
    "import base64,json,os,sys\n"
    "files=json.loads(os.environ.pop('URLVR_FILES'))\n"
    "for name,data in files.items():\n"
    "    path=os.path.join('/sandbox',name); os.makedirs(os.path.dirname(path),exist_ok=True)\n"
    "    open(path,'wb').write(base64.b64decode(data))\n"
    "fd=os.open('/sandbox/.stdin',os.O_RDONLY); os.dup2(fd,0); os.close(fd); os.unlink('/sandbox/.stdin')\n"
    "os.execvpe(sys.argv[1],sys.argv[1:],os.environ)\n"
)


class DockerConfig(SandboxConfig):
    """Options of the docker backend."""

    image: str = Field(default="python:3.11-slim", description="Image to run; it must contain ``python``.")
    python: str = Field(default="python3", description="Interpreter path inside the image.")
    base_url: str | None = Field(default=None, description="Engine address; None = from the environment (DOCKER_HOST).")
    cpus: float = Field(default=1.0, gt=0, description="CPU share of each container.")


class DockerSandbox(Sandbox):
    """Runs each execution in a fresh, network-less, read-only container."""

    name = "docker"
    Config = DockerConfig

    def __init__(self, config: DockerConfig | Mapping | None = None):
        super().__init__(config)
        try:
            import docker
        except ImportError as exc:
            raise SandboxError("the docker backend needs the docker SDK: pip install 'urlvr[docker]'") from exc
        try:
            self.client = docker.DockerClient(base_url=self.config.base_url) if self.config.base_url else docker.from_env()
            self.client.ping()
        except Exception as exc:
            raise SandboxError(f"no docker engine answers: {exc}") from exc
        self._containers: set = set()

    @property
    def python(self) -> str:
        return self.config.python

    def run(self, argv, files: Files | None = None, stdin: str | bytes = b"", env: Mapping[str, str] | None = None,
            limits: Limits | None = None, attach: int | None = None) -> ExecResult:
        limits, contents = self._prepare(argv, files, limits, attach)  # not attachable: refuses attach
        contents[".stdin"] = stdin.encode() if isinstance(stdin, str) else bytes(stdin)
        payload = json.dumps({k: base64.b64encode(v).decode() for k, v in contents.items()})
        container = self._create(argv, limits, {**(env or {}), "URLVR_FILES": payload})
        try:
            start = time.monotonic()
            container.start()
            killed = False
            try:
                code = container.wait(timeout=limits.wall_seconds)["StatusCode"]
            except Exception:  # the SDK raises a requests timeout when the wall limit passes
                container.kill()
                killed, code = True, None
            wall = time.monotonic() - start
            container.reload()
            oom = bool(container.attrs.get("State", {}).get("OOMKilled"))
            out = container.logs(stdout=True, stderr=False)
            err = container.logs(stdout=False, stderr=True)
        finally:
            self._remove(container)
        cap = limits.output_bytes
        reason = "wall" if killed else "memory" if oom else "cpu" if code == 128 + 24 else None
        return ExecResult(
            exit_code=code, stdout=out[:cap].decode(errors="replace"), stderr=err[:cap].decode(errors="replace"),
            stdout_truncated=len(out) > cap, stderr_truncated=len(err) > cap, wall_seconds=wall,
            cpu_seconds=None, peak_memory_mb=None, killed=reason is not None, kill_reason=reason,
        )

    def _create(self, argv, limits: Limits, env: Mapping[str, str]):
        from docker.types import Ulimit

        cpu = max(1, int(limits.cpu_seconds + 0.999))
        tmpfs = f"size={limits.tmpfs_mb}m,mode=1777"
        try:
            container = self.client.containers.create(
                self.config.image, [self.config.python, "-c", _BOOT, *argv], environment=dict(env),
                working_dir=WORKDIR, user="65534:65534", network_disabled=True, network_mode="none", read_only=True,
                tmpfs={WORKDIR: tmpfs, "/tmp": tmpfs}, mem_limit=f"{limits.memory_mb}m",
                memswap_limit=f"{limits.memory_mb}m", pids_limit=limits.processes,
                nano_cpus=int(self.config.cpus * 1e9), cap_drop=["ALL"], security_opt=["no-new-privileges"],
                ulimits=[Ulimit(name="cpu", soft=cpu, hard=cpu + 1),
                         Ulimit(name="nofile", soft=limits.open_files, hard=limits.open_files),
                         Ulimit(name="fsize", soft=limits.file_size_mb << 20, hard=limits.file_size_mb << 20)],
            )
        except Exception as exc:
            raise SandboxError(f"docker could not create a container from {self.config.image!r}: {exc}") from exc
        with self._lock:
            self._containers.add(container)
        return container

    def _remove(self, container) -> None:
        try:
            container.remove(force=True)
        except Exception:
            pass
        with self._lock:
            self._containers.discard(container)

    def close(self) -> None:
        super().close()
        with self._lock:
            containers = list(self._containers)
        for container in containers:
            self._remove(container)
        if hasattr(self, "client"):
            self.client.close()
