"""Sandboxes: run untrusted programs with limits. Backends are chosen by name through SANDBOXES.

``bwrap`` (default) isolates with bubblewrap; ``docker`` uses a container engine; ``subprocess`` is UNSAFE
(rlimits only) and must be opted into with ``unsafe_ok: true``. Third parties add backends through the
entry-point group ``urlvr.sandboxes``.
"""

__urlvr_package__ = "urlvr"  # provenance marker: see sandboxes.provenance

from collections.abc import Mapping
from typing import Any

from sandboxes.provenance import check_siblings

check_siblings()

from sandboxes.base import ExecResult, Limits, Sandbox, SandboxConfig, SandboxError
from sandboxes.registry import Registry

SANDBOXES = Registry(
    "sandbox backend",
    {
        "bwrap": "sandboxes.bwrap:BwrapSandbox",
        "docker": "sandboxes.docker_engine:DockerSandbox",
        "subprocess": "sandboxes.unsafe:UnsafeSubprocessSandbox",
    },
    entry_point_group="urlvr.sandboxes",
)


def make_sandbox(name: str = "bwrap", config: Mapping[str, Any] | None = None) -> Sandbox:
    """Build a registered backend, validating ``config`` against its own Config class."""
    cls = SANDBOXES.get(name)
    return cls(cls.Config.model_validate(dict(config or {})))


__all__ = ["SANDBOXES", "ExecResult", "Limits", "Sandbox", "SandboxConfig", "SandboxError", "make_sandbox"]
