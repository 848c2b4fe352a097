"""Finding Lean: the command that starts one REPL, or a one-line reason (with the install hint) why there is none.

Discovery order: ``repl_command`` as given; else the REPL binary (``repl`` option, the project's ``.lake``
folders, ``repl`` on PATH) run directly when Lean's core suffices, or through ``lake env`` inside
``project_dir`` so that the project's packages (Mathlib) are on the search path.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from verifiers.lean.config import LeanConfig

INSTALL_HINT = (
    "install Lean with elan (curl https://raw.githubusercontent.com/leanprover/elan/master/elan-init.sh -sSf | sh), "
    "build the REPL (git clone https://github.com/leanprover-community/repl && cd repl && lake build) and put "
    "repl/.lake/build/bin on PATH, or set project_dir to a Lake project with REPL and Mathlib; see docs/lean.md"
)
ELAN_BIN = Path.home() / ".elan" / "bin"
REPL_IN_PROJECT = (".lake/packages/REPL/.lake/build/bin/repl", ".lake/packages/repl/.lake/build/bin/repl", ".lake/build/bin/repl")


class ToolchainMissing(RuntimeError):
    """No usable Lean toolchain (or kimina endpoint); the message is one line and says how to get one."""

    def __init__(self, message: str, reason: str | None = None):
        super().__init__(message)
        self.reason = reason or message
        """What is missing, without the install hint."""


@dataclass(frozen=True)
class Toolchain:
    """How to start one REPL: argv, working directory, and folders to put in front of PATH."""

    argv: tuple[str, ...]
    cwd: str | None
    path_prefix: tuple[str, ...]
    description: str

    def environ(self) -> dict[str, str]:
        env = dict(os.environ)
        if self.path_prefix:
            env["PATH"] = os.pathsep.join([*self.path_prefix, env.get("PATH", "")])
        return env


def _which(program: str) -> str | None:
    return shutil.which(program) or (str(ELAN_BIN / program) if (ELAN_BIN / program).is_file() else None)


def _missing(what: str) -> ToolchainMissing:
    return ToolchainMissing(f"no Lean toolchain: {what}; {INSTALL_HINT}", what)


def find_toolchain(config: LeanConfig) -> Toolchain:
    """The REPL command for ``config``; raises ToolchainMissing (one line, with the install hint)."""
    project = _project(config.project_dir)
    if config.repl_command:
        program = config.repl_command[0]
        if not (shutil.which(program) or Path(program).is_file()):
            raise _missing(f"repl_command program {program!r} was not found")
        return Toolchain(tuple(config.repl_command), str(project) if project else None, (), f"repl_command {program}")
    lean, lake = _which("lean"), _which("lake")
    if lean is None:
        raise _missing("`lean` is not on PATH (nor in ~/.elan/bin)")
    prefix = (str(Path(lean).parent),) if not shutil.which("lean") else ()
    repl = _find_repl(config.repl, project)
    if project is None:
        return Toolchain((repl,), None, prefix, f"REPL {repl} with {lean}")
    if lake is None:
        raise _missing("`lake` is not on PATH (nor in ~/.elan/bin), and project_dir needs it")
    return Toolchain((lake, "env", repl), str(project), prefix, f"REPL {repl} in project {project}")


def _project(project_dir: str | None) -> Path | None:
    if project_dir is None:
        return None
    path = Path(project_dir).expanduser()
    if not any((path / f).is_file() for f in ("lakefile.lean", "lakefile.toml", "lean-toolchain")):
        raise _missing(f"project_dir {project_dir!r} is not a Lake project (no lakefile or lean-toolchain)")
    return path.resolve()


def _find_repl(repl: str | None, project: Path | None) -> str:
    if repl is not None:
        path = Path(repl).expanduser()
        if path.is_file() and os.access(path, os.X_OK):
            return str(path.resolve())
        raise _missing(f"the REPL binary {repl!r} does not exist or is not executable")
    for rel in REPL_IN_PROJECT if project else ():
        if (project / rel).is_file():
            return str(project / rel)
    found = shutil.which("repl")
    if found is None:
        raise _missing("Lean is installed but the REPL binary `repl` was not found (on PATH or in project_dir/.lake)")
    return found
