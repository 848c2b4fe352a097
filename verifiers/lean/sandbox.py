"""Each REPL runs inside bubblewrap: no network, its own PID namespace, and a read-only view of only what Lean
needs (system libraries, the Lean toolchain, the REPL binary, the project), with a private /tmp.

The guards already refuse ``#eval``, ``run_cmd`` and every other way a completion could run code while Lean
elaborates it; the sandbox is the second wall, so that a way the guards missed still reaches neither the
network nor the host's files. ``sandbox=false`` runs the REPL directly (for hosts without user namespaces).
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from sandboxes.base import SandboxError, base_prefix
from verifiers.lean.config import LeanConfig
from verifiers.lean.toolchain import Toolchain, ToolchainMissing, find_toolchain

SYSTEM_PATHS = ("/usr/lib", "/usr/lib64", "/usr/lib32", "/lib", "/lib64", "/lib32", "/usr/bin", "/bin", "/etc/ld.so.cache")


def _binds(paths: Iterable[str]) -> list[str]:
    args: list[str] = []
    seen: set[str] = set()
    for p in paths:
        if p in seen or not os.path.lexists(p):
            continue
        seen.add(p)
        if os.path.islink(p) and p in SYSTEM_PATHS:  # merged-/usr hosts: /lib -> usr/lib
            args += ["--symlink", os.readlink(p), p]
        else:
            args += ["--ro-bind", p, p]
    return args


def _toolchain_paths(toolchain: Toolchain) -> list[str]:
    """Host paths the REPL reads: each program's folder (and a toolchain's root), elan's home, the project."""
    paths = [base_prefix()]  # a Python stand-in or wrapper needs its interpreter
    for arg in toolchain.argv:
        if os.path.isabs(arg) and os.path.exists(arg):
            for path in {Path(arg), Path(arg).resolve()}:  # a venv's python is a link: bind both ends
                paths += [str(path.parent), str(path.parent.parent)] if path.is_file() else [str(path)]
    for folder in toolchain.path_prefix:
        paths.append(str(Path(folder).resolve().parent))
    elan = Path(os.environ.get("ELAN_HOME", Path.home() / ".elan"))
    if elan.is_dir():
        paths.append(str(elan.resolve()))
    if toolchain.cwd:
        paths.append(str(Path(toolchain.cwd).resolve()))
    return sorted(set(paths), key=len)


def sandboxed(toolchain: Toolchain) -> Toolchain:
    """The same REPL command wrapped in bwrap; raises SandboxError when bwrap is not available."""
    from sandboxes.bwrap import bwrap_binary

    base = Path(toolchain.cwd or os.getcwd())  # relative paths in the command would not resolve inside
    argv = tuple(str((base / a).resolve()) if not os.path.isabs(a) and (base / a).exists() else a for a in toolchain.argv)
    toolchain = Toolchain(argv, toolchain.cwd, toolchain.path_prefix, toolchain.description)
    binary = bwrap_binary()
    if not os.access(binary, os.X_OK):
        raise SandboxError(f"bwrap executable {binary!r} is missing or not executable")
    # The private /tmp comes first: binds after it may then live under /tmp (a checkout or venv there).
    args = [binary, "--unshare-all", "--die-with-parent", "--cap-drop", "ALL",
            "--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp",
            *_binds([*SYSTEM_PATHS, *_toolchain_paths(toolchain)]), "--chdir", toolchain.cwd or "/tmp"]
    elan = Path(os.environ.get("ELAN_HOME", Path.home() / ".elan"))
    if elan.is_dir():
        args += ["--setenv", "ELAN_HOME", str(elan.resolve())]
    return Toolchain((*args, "--", *toolchain.argv), toolchain.cwd, toolchain.path_prefix,
                     f"{toolchain.description}, in a bwrap sandbox")


def runnable(config: LeanConfig) -> Toolchain:
    """The command that starts one REPL for ``config``: found, then sandboxed unless ``sandbox=false``."""
    toolchain = find_toolchain(config)
    if not config.sandbox:
        return toolchain
    try:
        return sandboxed(toolchain)
    except SandboxError as exc:
        raise ToolchainMissing(f"the REPL sandbox is not available ({exc}); set sandbox=false to run Lean without it",
                               "the REPL sandbox (bwrap) is not available") from None
