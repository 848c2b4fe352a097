"""Options of the ``lean`` verifier (every default held here once; the lean task embeds this model)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from verifiers.base import VerifierConfig


class LeanConfig(VerifierConfig):
    """Where Lean is, how the REPL pool behaves, and what a proof may use."""

    backend: Literal["repl", "kimina"] = Field(default="repl", description="repl: local Lean REPL processes; kimina: a kimina-lean-server endpoint.")
    project_dir: str | None = Field(default=None, description="A Lake project (e.g. with Mathlib and REPL) whose environment the REPL runs in.")
    repl: str | None = Field(default=None, description="Path to the REPL binary; default: found in project_dir/.lake or on PATH.")
    repl_command: list[str] | None = Field(default=None, description="Full command that starts one REPL (overrides repl/project_dir discovery).")
    proof_timeout: float = Field(default=60.0, gt=0, description="Seconds Lean may spend on one proof before its REPL is killed.")
    header_timeout: float = Field(default=300.0, gt=0, description="Seconds a fresh REPL may spend starting and elaborating the header.")
    max_uses: int = Field(default=200, ge=1, description="Proofs one REPL checks before it is replaced (its memory grows with each).")
    max_rss_mb: int = Field(default=12_000, ge=64, description="A REPL above this resident memory (MB, from /proc) is replaced.")
    max_repls: int = Field(default=2, ge=1, description="REPL processes kept per verifier, one per import header (least recently used goes).")
    sandbox: bool = Field(default=True, description="Run each REPL under bubblewrap: no network, a read-only view of the toolchain and project only.")
    allow_native_decide: bool = Field(default=False, description="Accept native_decide (and the compiler-trusting axioms it adds).")
    kimina_url: str | None = Field(default=None, description="Base URL of a kimina-lean-server, e.g. http://127.0.0.1:8000.")
    kimina_api_key: str | None = Field(default=None, description="API key for kimina-lean-server (sent as a Bearer token).")

    @model_validator(mode="after")
    def _kimina_needs_url(self) -> LeanConfig:
        if self.backend == "kimina" and not self.kimina_url:
            raise ValueError("backend 'kimina' needs kimina_url (e.g. http://127.0.0.1:8000)")
        if self.repl_command is not None and not self.repl_command:
            raise ValueError("repl_command must name a program")
        return self
