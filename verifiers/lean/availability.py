"""Whether the ``lean`` verifier can check proofs here: a found, runnable toolchain that passes a trivial proof.

Sits above :mod:`verifiers.lean.toolchain` (finding Lean), :mod:`verifiers.lean.sandbox` (running it) and
:mod:`verifiers.lean.repl` (talking to it), so none of them needs to import the others back.
"""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Mapping
from typing import Any

from verifiers.lean.config import LeanConfig
from verifiers.lean.repl import ReplError, ReplProcess
from verifiers.lean.sandbox import runnable
from verifiers.lean.toolchain import Toolchain, ToolchainMissing

_PROBED: set[tuple[str, ...]] = set()
PROBE = "example : True := trivial"


def require_toolchain(options: Mapping[str, Any] | LeanConfig | None = None, probe: bool = True) -> None:
    """Raise ToolchainMissing (one line) unless the ``lean`` verifier can check proofs with these options.

    With ``probe`` a REPL is started (sandboxed as configured) and must check a trivial proof; each command is
    probed once per process. For the kimina backend it asks the endpoint's ``/health`` instead. The trainer
    calls this at start-up.
    """
    config = options if isinstance(options, LeanConfig) else LeanConfig.model_validate(dict(options or {}))
    if config.backend == "kimina":
        _ping_kimina(config)
        return
    toolchain = runnable(config)
    if probe and toolchain.argv not in _PROBED:
        _probe(toolchain, config)
        _PROBED.add(toolchain.argv)


def _probe(toolchain: Toolchain, config: LeanConfig) -> None:
    repl = None
    try:
        repl = ReplProcess(toolchain, "", config.header_timeout)
        reply = repl.send({"cmd": PROBE, "env": repl.header_env}, config.proof_timeout)
        errors = [m for m in reply.get("messages") or [] if isinstance(m, dict) and m.get("severity") == "error"]
        if "env" not in reply or errors:
            raise ReplError(f"it answered {str(reply)[:200]}")
    except (ReplError, OSError) as exc:
        hint = "; set sandbox=false if Lean works outside the sandbox" if config.sandbox else ""
        raise ToolchainMissing(f"Lean was found ({toolchain.description}) but its REPL failed a trivial check: "
                               f"{' '.join(str(exc).split())[:300]}{hint}", "the REPL failed a trivial check") from None
    finally:
        if repl is not None:
            repl.kill()


def _ping_kimina(config: LeanConfig) -> None:
    url = config.kimina_url.rstrip("/") + "/health"
    try:
        with urllib.request.urlopen(url, timeout=5.0) as reply:
            json.loads(reply.read(4096) or b"{}")
    except (OSError, ValueError) as exc:
        raise ToolchainMissing(f"kimina-lean-server at {config.kimina_url} did not answer {url}: {exc}; "
                               "start it (see docs/lean.md) or use backend=repl") from None


def unavailable(options: Mapping[str, Any] | LeanConfig | None = None) -> str | None:
    """The one-line reason the verifier cannot check proofs here, or None when it can."""
    try:
        require_toolchain(options)
    except ToolchainMissing as exc:
        return str(exc)
    return None
