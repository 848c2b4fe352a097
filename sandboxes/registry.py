"""One registry mechanism for every pluggable kind (sandboxes, verifiers, tasks, rewards).

It lives in the lowest package so that every layer above can use it without an import cycle.

Entries are ``"module:Attr"`` strings, imported only when used. Built-ins are listed where each registry
is created; third parties add entries through a Python entry-point group, read lazily on first lookup.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from importlib import metadata
from types import MappingProxyType
from typing import Any


class RegistryError(LookupError):
    """An unknown or duplicate registry name, or an entry that cannot be imported."""


@dataclass(frozen=True)
class Entry:
    """Where a registered object lives and who provided it."""

    name: str
    target: str
    origin: str = "built-in"


def import_target(target: str) -> Any:
    """Import ``"package.module:Attr"`` and return the attribute."""
    module_name, _, attr = target.partition(":")
    if not module_name or not attr:
        raise RegistryError(f"registry target {target!r} is not of the form 'module:Attr'")
    module = importlib.import_module(module_name)
    try:
        return getattr(module, attr)
    except AttributeError as exc:
        raise RegistryError(f"{module_name} has no attribute {attr!r} (registry target {target!r})") from exc


class Registry:
    """Names to lazily imported objects. Read-only view; duplicates (built-in or plugin) are errors."""

    def __init__(self, kind: str, builtins: Mapping[str, str], entry_point_group: str | None = None):
        self.kind = kind
        self.entry_point_group = entry_point_group
        self._builtins = {name: Entry(name, target) for name, target in builtins.items()}
        self._entries: dict[str, Entry] | None = None

    def _load(self) -> dict[str, Entry]:
        if self._entries is not None:
            return self._entries
        entries = dict(self._builtins)
        if self.entry_point_group:
            for ep in metadata.entry_points(group=self.entry_point_group):
                dist = ep.dist.name if ep.dist is not None else "unknown distribution"
                if ep.name in entries:
                    raise RegistryError(
                        f"duplicate {self.kind} name {ep.name!r}: {entries[ep.name].origin} already registers it, "
                        f"and plugin {dist} registers it again via entry point group {self.entry_point_group!r}"
                    )
                entries[ep.name] = Entry(ep.name, ep.value, origin=f"plugin {dist}")
        self._entries = entries
        return entries

    def reload(self) -> None:
        """Forget cached plugin entries (after installing a plugin in a running process)."""
        self._entries = None

    @property
    def entries(self) -> Mapping[str, Entry]:
        return MappingProxyType(self._load())

    def names(self) -> list[str]:
        return sorted(self._load())

    def entry(self, name: str) -> Entry:
        entries = self._load()
        if name not in entries:
            hint = f" Third-party {self.kind}s register via the entry-point group {self.entry_point_group!r}." if self.entry_point_group else ""
            raise RegistryError(f"unknown {self.kind} {name!r}; valid choices: {', '.join(sorted(entries))}.{hint}")
        return entries[name]

    def get(self, name: str) -> Any:
        """The registered object (usually a class), imported now."""
        entry = self.entry(name)
        try:
            return import_target(entry.target)
        except ImportError as exc:
            raise RegistryError(
                f"{self.kind} {name!r} ({entry.origin}) could not be imported from {entry.target!r}: {exc}. "
                "Is its package (and its extras) installed?"
            ) from exc

    def __contains__(self, name: object) -> bool:
        return name in self._load()

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())
