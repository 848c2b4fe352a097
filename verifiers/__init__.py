"""Verifiers: pure scorers from (task item, completion) to a Verdict, found by name in one registry."""

__urlvr_package__ = "urlvr"  # provenance marker: see sandboxes.provenance

try:
    from sandboxes.provenance import check_siblings
except ModuleNotFoundError as exc:  # 'sandboxes' itself belongs to another project
    raise ImportError(f"urlvr: {exc}; another project's 'sandboxes' shadows urlvr's: use a separate environment") from exc
check_siblings()

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
