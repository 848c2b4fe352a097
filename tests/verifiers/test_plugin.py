"""The example plugin (examples/urlvr-example-plugin): pip-installed, then found by name everywhere."""

from __future__ import annotations

import json
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import pytest

from verifiers.pool import make_pool
from verifiers.registry import VERIFIERS

PLUGIN_DIR = Path(__file__).resolve().parents[2] / "examples" / "urlvr-example-plugin"
DIST = "urlvr-example-plugin"


def _installed_here() -> bool:
    try:
        dist = metadata.distribution(DIST)
    except metadata.PackageNotFoundError:
        return False
    url = json.loads(dist.read_text("direct_url.json") or "{}").get("url", "")
    return url.endswith(PLUGIN_DIR.as_posix()) and any(ep.name == "palindrome" for ep in dist.entry_points)


@pytest.fixture(scope="module")
def plugin() -> str:
    """Install the example plugin (editable, offline, skipped when already installed from this checkout)."""
    if not _installed_here():
        cmd = [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation", "-e", str(PLUGIN_DIR)]
        subprocess.run(cmd, check=True, capture_output=True, timeout=300)
    assert _installed_here()
    # This interpreter started before the install, so it has not read the new .pth file; put the path in by hand.
    if str(PLUGIN_DIR) not in sys.path:
        sys.path.append(str(PLUGIN_DIR))
    VERIFIERS.reload()
    return "palindrome"


def test_plugin_is_in_the_registry_with_its_origin(plugin):
    assert plugin in VERIFIERS.names()
    assert VERIFIERS.entry(plugin).origin == f"plugin {DIST}"
    cls = VERIFIERS.get(plugin)
    assert cls.__module__ == "urlvr_example_plugin.palindrome" and cls.default_timeout == 1.0


def test_plugin_runs_in_a_local_pool(plugin):
    items = [{"min_length": 5}, {"min_length": 5}, {"min_length": 50}, {}]
    completions = ["<answer>Never odd or even</answer>", "<answer>abc</answer>", "<answer>abba</answer>", "no tags"]
    with make_pool(plugin, {"max_chars": 100}, backend="local") as pool:
        verdicts = pool.verify_batch(items, completions)
    assert [v.status for v in verdicts] == ["correct", "incorrect", "incorrect", "incorrect"]
    assert "fewer than the 50 required" in verdicts[2].reason


def test_plugin_through_the_cli(plugin, tmp_path: Path):
    lines = [{"min_length": 3, "completion": "<answer>racecar</answer>"}, {"completion": "<answer>nope</answer>"}]
    src = tmp_path / "items.jsonl"
    src.write_text("".join(json.dumps(line) + "\n" for line in lines))
    run = lambda *args: subprocess.run([sys.executable, "-m", "verifiers", *args], capture_output=True, text=True, timeout=120)  # noqa: E731
    listed = run("list")
    assert listed.returncode == 0, listed.stderr
    row = next(line for line in listed.stdout.splitlines() if line.startswith("palindrome"))
    assert f"plugin {DIST}" in row and "1s" in row
    out = run("verify", plugin, "--input", str(src), "--workers", "1")
    assert out.returncode == 0, out.stderr
    assert [json.loads(line)["status"] for line in out.stdout.splitlines()] == ["correct", "incorrect"]
