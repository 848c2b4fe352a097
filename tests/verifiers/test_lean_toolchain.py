"""Toolchain discovery and the verifier without Lean: guards still decide, other items are `error`, one hint."""

from __future__ import annotations

import os
import pickle
import stat
import sys
from pathlib import Path

import pytest
from pydantic import ValidationError

from verifiers.lean import LeanVerifier, toolchain
from verifiers.lean.availability import require_toolchain
from verifiers.lean.config import LeanConfig
from verifiers.lean.toolchain import ToolchainMissing, find_toolchain

ITEM = {"formal_statement": "theorem t (n : Nat) : n + 0 = n := by sorry", "header": ""}
GOLD = "```lean\ntheorem t (n : Nat) : n + 0 = n := by\n  omega\n```"


def executable(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("#!/bin/sh\nexit 0\n")
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return path


@pytest.fixture
def no_lean(tmp_path, monkeypatch):
    """A PATH and HOME with no Lean on them."""
    monkeypatch.setenv("PATH", str(tmp_path / "empty-bin"))
    monkeypatch.setattr(toolchain, "ELAN_BIN", tmp_path / "no-elan")


@pytest.fixture
def fake_lean(tmp_path, monkeypatch):
    """Executables named lean, lake and repl on PATH (placeholders: discovery only looks them up)."""
    bin_dir = tmp_path / "bin"
    for name in ("lean", "lake", "repl"):
        executable(bin_dir / name)
    monkeypatch.setenv("PATH", str(bin_dir))
    monkeypatch.setattr(toolchain, "ELAN_BIN", tmp_path / "no-elan")
    return bin_dir


def test_missing_lean_is_one_line_with_the_install_hint(no_lean):
    with pytest.raises(ToolchainMissing) as info:
        require_toolchain({})
    message = str(info.value)
    assert "\n" not in message and "`lean` is not on PATH" in message and "elan" in message and "docs/lean.md" in message
    assert LeanVerifier.unavailable() == message


def test_lean_without_the_repl_is_named(fake_lean):
    (fake_lean / "repl").unlink()
    with pytest.raises(ToolchainMissing, match="REPL binary `repl` was not found"):
        find_toolchain(LeanConfig())


def test_core_lean_runs_the_repl_directly(fake_lean):
    found = find_toolchain(LeanConfig())
    assert found.argv == (str(fake_lean / "repl"),) and found.cwd is None


def test_a_project_runs_the_repl_through_lake_env(fake_lean, tmp_path):
    project = tmp_path / "proj"
    (project / "lakefile.lean").parent.mkdir(parents=True)
    (project / "lakefile.lean").write_text("-- lake file\n")
    repl = executable(project / ".lake/packages/REPL/.lake/build/bin/repl")
    found = find_toolchain(LeanConfig(project_dir=str(project)))
    assert found.argv == (str(fake_lean / "lake"), "env", str(repl)) and found.cwd == str(project.resolve())


def test_lean_in_elan_bin_is_found_and_put_on_path(tmp_path, monkeypatch):
    elan = tmp_path / "elan-bin"
    executable(elan / "lean")
    executable(tmp_path / "bin" / "repl")
    monkeypatch.setenv("PATH", str(tmp_path / "bin"))
    monkeypatch.setattr(toolchain, "ELAN_BIN", elan)
    found = find_toolchain(LeanConfig())
    assert found.environ()["PATH"].split(os.pathsep)[0] == str(elan)


@pytest.mark.parametrize("options,why", [
    ({"project_dir": "/nonexistent/project"}, "not a Lake project"),
    ({"repl": "/nonexistent/repl"}, "does not exist"),
    ({"repl_command": ["/nonexistent/repl"]}, "was not found"),
])
def test_bad_locations_are_named(fake_lean, options, why):
    with pytest.raises(ToolchainMissing, match=why):
        require_toolchain(options)


def test_kimina_that_does_not_answer_is_named():
    with pytest.raises(ToolchainMissing, match="did not answer"):
        require_toolchain({"backend": "kimina", "kimina_url": "http://127.0.0.1:9"})


@pytest.mark.parametrize("options", [{"bogus": 1}, {"backend": "lean4web"}, {"backend": "kimina"}, {"max_uses": 0}])
def test_bad_options_fail_at_construction(options):
    with pytest.raises(ValidationError):
        LeanVerifier(options)


CHEATS = [
    "```lean\ntheorem t (n : Nat) : n + 0 = n := by sorry\n```",
    "```lean\naxiom a : False\ntheorem t (n : Nat) : n + 0 = n := a.elim\n```",
    "```lean\ntheorem t (n : Nat) : n = n := rfl\n```",
    "no lean block at all",
]


def test_without_lean_guards_still_decide_and_the_rest_is_error(no_lean, capsys, monkeypatch):
    import verifiers.lean

    monkeypatch.setattr(verifiers.lean, "_hint_shown", False)
    verifier = LeanVerifier()
    verdicts = verifier.verify_batch([ITEM] * 6, [GOLD, *CHEATS, GOLD])
    assert [v.status for v in verdicts] == ["error", "incorrect", "incorrect", "incorrect", "incorrect", "error"]
    assert all(v.score is None for v in (verdicts[0], verdicts[-1]))
    assert "no Lean toolchain" in verdicts[0].reason and "`lean` is not on PATH" in verdicts[0].reason
    fresh = LeanVerifier()
    assert fresh.verify(ITEM, GOLD).status == "error"
    err = capsys.readouterr().err
    assert err.count("warning: lean verifier:") == 1 and "elan" in err  # the install hint, once per process


def test_item_faults_are_error_not_incorrect():
    verifier = LeanVerifier()
    assert verifier.verify({"header": ""}, GOLD).status == "error"
    assert verifier.verify({"formal_statement": "def x := 1"}, GOLD).status == "error"


def test_the_verifier_pickles_without_its_processes():
    verifier = LeanVerifier({"proof_timeout": 5})
    clone = pickle.loads(pickle.dumps(verifier))
    assert clone.config == verifier.config and clone._backend is None
    assert clone.timeout >= 2 * (clone.config.header_timeout + 5)


def test_cli_without_lean_gives_guard_verdicts_errors_and_one_hint(tmp_path):
    import json
    import subprocess

    lines = [{**ITEM, "completion": c} for c in (GOLD, CHEATS[0], CHEATS[1], GOLD)]
    path = tmp_path / "in.jsonl"
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    env = {**os.environ, "PATH": str(tmp_path / "empty-bin"), "HOME": str(tmp_path)}
    done = subprocess.run([sys.executable, "-m", "verifiers", "verify", "lean", "-i", str(path), "--workers", "2",
                           "--backend", "local"],
                          capture_output=True, text=True, env=env, timeout=300, cwd=Path(__file__).parents[2])
    assert done.returncode == 0, done.stderr
    statuses = [json.loads(line)["status"] for line in done.stdout.splitlines()]
    assert statuses == ["error", "incorrect", "incorrect", "error"]
    assert done.stderr.count("warning: lean verifier:") == 1 and "elan" in done.stderr


STANDIN = str(Path(__file__).with_name("lean_standin_repl.py"))


@pytest.mark.parametrize("sandbox", [True, False])
def test_start_up_probe_starts_a_repl_and_checks_a_trivial_proof(sandbox):
    # the STAND-IN REPL answers the probe without errors: this checks the probe's plumbing, not Lean
    require_toolchain({"repl_command": [sys.executable, STANDIN], "sandbox": sandbox})
    with pytest.raises(ToolchainMissing, match="failed a trivial check") as info:
        require_toolchain({"repl_command": [sys.executable, STANDIN, "--mode", "crash_at_start"], "sandbox": sandbox})
    assert "\n" not in str(info.value) and ("sandbox=false" in str(info.value)) == sandbox
