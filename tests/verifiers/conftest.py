"""Fixtures for verifier tests: temporary plugin distributions, the scripted test double, one Ray session."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from pathlib import Path

import pytest

from verifiers.registry import VERIFIERS
from verifiers.scripted import TARGET as SCRIPTED_TARGET


def write_dist(root: Path, dist: str, entry_points: Mapping[str, str], group: str = "urlvr.verifiers") -> Path:
    """Write a minimal installed distribution (dist-info with entry points) under ``root``; returns ``root``."""
    info = root / f"{dist.replace('-', '_')}-0.0.1.dist-info"
    info.mkdir(parents=True, exist_ok=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: 0.0.1\n")
    lines = [f"[{group}]"] + [f"{name} = {target}" for name, target in entry_points.items()]
    (info / "entry_points.txt").write_text("\n".join(lines) + "\n")
    return root


@pytest.fixture
def add_plugin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[..., None]]:
    """``add_plugin(dist, {name: target}, group=...)`` installs a fake distribution on ``sys.path`` for this test."""
    site = tmp_path / "plugin-site"
    site.mkdir()
    monkeypatch.syspath_prepend(str(site))

    def add(dist: str, entry_points: Mapping[str, str], group: str = "urlvr.verifiers") -> None:
        write_dist(site, dist, entry_points, group)

    yield add
    monkeypatch.undo()
    VERIFIERS.reload()


@pytest.fixture
def scripted(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """Registers the scripted test double as verifier ``scripted`` (through a plugin entry point)."""
    monkeypatch.syspath_prepend(str(write_dist(tmp_path / "site", "urlvr-test-scripted", {"scripted": SCRIPTED_TARGET})))
    VERIFIERS.reload()
    yield "scripted"
    monkeypatch.undo()
    VERIFIERS.reload()


@pytest.fixture(scope="session")
def ray_session() -> Iterator[None]:
    """One local Ray instance for the whole test session (starting Ray costs ~5 s and ~1 GB)."""
    import ray

    from verifiers.ray_pool import ensure_ray

    ensure_ray()
    yield
    ray.shutdown()
