"""A foreign package named like one of ours (PrimeIntellect's ``verifiers``, say) fails loudly, in one line."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from sandboxes import provenance

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def foreign_site(tmp_path_factory) -> Path:
    """A folder holding a real pip install of a dummy distribution 'verifiers-impostor' that ships 'verifiers'."""
    src = tmp_path_factory.mktemp("impostor-src")
    (src / "verifiers").mkdir()
    (src / "verifiers" / "__init__.py").write_text('"""Not urlvr."""\nVERSION = "9.9"\n')
    (src / "pyproject.toml").write_text(textwrap.dedent("""
        [build-system]
        requires = ["setuptools>=68"]
        build-backend = "setuptools.build_meta"
        [project]
        name = "verifiers-impostor"
        version = "9.9"
        [tool.setuptools]
        packages = ["verifiers"]
    """))
    site = tmp_path_factory.mktemp("impostor-site")
    proc = subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation",
                           "--target", str(site), str(src)], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return site


def run_with(site: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(site)}
    return subprocess.run([sys.executable, *args], cwd=site, env=env, capture_output=True, text=True, timeout=300)


def test_own_packages_carry_the_marker():
    assert provenance.foreign_packages() == []


def test_library_import_names_the_foreign_distribution(foreign_site):
    proc = run_with(foreign_site, "-c", "import rewards")
    assert proc.returncode == 1
    last = proc.stderr.strip().splitlines()[-1]
    assert last.startswith("sandboxes.provenance.ShadowedPackageError: urlvr: top-level package 'verifiers' at ")
    assert "belongs to distribution verifiers-impostor" in last and "separate virtual environment" in last


def test_cli_fails_with_one_line(foreign_site):
    proc = run_with(foreign_site, "-m", "trainer.run", "task=countdown")
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert "'verifiers'" in lines[0] and "verifiers-impostor" in lines[0]


def test_message_for_a_missing_sibling():
    message = provenance.shadow_message([("tasks", "not found")])
    assert message.startswith("urlvr: top-level package 'tasks' is not found, not urlvr.")
