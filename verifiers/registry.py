"""The verifier registry: built-in verifiers by name, plus plugins from the entry-point group ``urlvr.verifiers``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sandboxes.registry import Entry, Registry, RegistryError, import_target

__all__ = ["VERIFIERS", "Entry", "Registry", "RegistryError", "import_target", "make_verifier"]

VERIFIERS = Registry(
    "verifier",
    {
        "countdown": "verifiers.countdown:CountdownVerifier",
        "math": "verifiers.math:MathVerifier",
        "code": "verifiers.code:CodeVerifier",
        "reasoning_gym": "verifiers.reasoning_gym:ReasoningGymVerifier",
        "lean": "verifiers.lean:LeanVerifier",
    },
    entry_point_group="urlvr.verifiers",
)


def make_verifier(name: str, config: Mapping[str, Any] | None = None):
    """Build a registered verifier, validating ``config`` against its own Config class."""
    cls = VERIFIERS.get(name)
    return cls(cls.Config.model_validate(dict(config or {})))
