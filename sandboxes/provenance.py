"""Guard against shadowing: urlvr's five top-level packages share their names with other PyPI projects.

``verifiers``, ``rewards``, ``trainer``, ``sandboxes`` and ``tasks`` are the names the project card fixes, and
PyPI already has packages called ``verifiers`` (PrimeIntellect's library) and others. Installing one of those
into the same environment overwrites or shadows ours, and the failure would surface as an unrelated
``ImportError`` deep inside some module. Each urlvr package calls :func:`check_siblings` when it is imported: it
finds every sibling without importing it and reads the marker line that each of our ``__init__.py`` files holds.
"""

from __future__ import annotations

import importlib.util
import sys

PACKAGES = ("sandboxes", "verifiers", "tasks", "rewards", "trainer")
MARKER = '__urlvr_package__ = "urlvr"'
"""The line every urlvr package's ``__init__.py`` holds; a foreign package of the same name lacks it."""

_checked = False


class ShadowedPackageError(ImportError):
    """A top-level package urlvr needs belongs to another project."""


def foreign_packages() -> list[tuple[str, str]]:
    """``(name, where)`` for each urlvr package name that resolves to something that is not urlvr's."""
    out = []
    for name in PACKAGES:
        spec = importlib.util.find_spec(name) if name not in sys.modules else sys.modules[name].__spec__
        origin = getattr(spec, "origin", None)
        if spec is None or not origin or not origin.endswith("__init__.py"):
            out.append((name, "not found" if spec is None else str(origin or "a namespace package")))
            continue
        try:
            with open(origin, encoding="utf-8", errors="replace") as fh:
                text = fh.read(8192)
        except OSError as exc:
            out.append((name, f"{origin} ({exc.strerror})"))
            continue
        if MARKER not in text:
            out.append((name, origin))
    return out


def _owner(name: str) -> str:
    """The distribution(s) that install top-level package ``name``, for the error message."""
    from importlib import metadata

    owners = sorted(set(metadata.packages_distributions().get(name, [])) - {"urlvr"})
    return f"distribution {', '.join(owners)}" if owners else "an unknown distribution"


def shadow_message(foreign: list[tuple[str, str]]) -> str:
    """One line naming the foreign package(s) and what to do."""
    parts = [f"'{name}' is {where}" if where == "not found" else f"'{name}' at {where} belongs to {_owner(name)}"
             for name, where in foreign]
    return ("urlvr: top-level package " + "; ".join(parts) + ", not urlvr. urlvr's packages share names with other "
            "PyPI projects (such as PrimeIntellect's 'verifiers'): install urlvr in a separate virtual environment.")


def _invoked_as_cli() -> bool:
    """True while ``python -m <urlvr package>...`` or a urlvr console script is importing its package."""
    argv0 = sys.argv[0] if sys.argv else ""
    return argv0 == "-m" or argv0.rsplit("/", 1)[-1].startswith("urlvr-")


def check_siblings() -> None:
    """Raise :class:`ShadowedPackageError` (or exit with one line from a CLI) if a sibling package is foreign."""
    global _checked
    if _checked:
        return
    foreign = foreign_packages()
    if foreign:
        message = shadow_message(foreign)
        if _invoked_as_cli():
            sys.stderr.write(message + "\n")
            raise SystemExit(2)
        raise ShadowedPackageError(message)
    _checked = True
