"""Verifiers: pure scorers from (task item, completion) to a Verdict, found by name in one registry."""

from verifiers.base import Needs, TaskItem, Verdict, Verifier, VerifierConfig, safe_verify
from verifiers.registry import VERIFIERS, Registry, RegistryError, make_verifier

__all__ = [
    "Needs",
    "TaskItem",
    "Verdict",
    "Verifier",
    "VerifierConfig",
    "safe_verify",
    "VERIFIERS",
    "Registry",
    "RegistryError",
    "make_verifier",
]
