"""The registry: lazy imports, entry-point plugins, helpful errors for unknown and duplicate names."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from verifiers.registry import VERIFIERS, Registry, RegistryError, import_target, make_verifier

GROUP = "urlvr.test_registry"  # a private group, so plugins installed in the venv do not interfere


def registry(**builtins: str) -> Registry:
    return Registry("verifier", builtins, entry_point_group=GROUP)


def test_builtin_verifiers_are_listed():
    assert {"countdown", "math", "code"} <= set(VERIFIERS.names())
    with pytest.raises(TypeError):
        VERIFIERS.entries["countdown"] = None  # read-only view


def test_unknown_name_lists_the_known_names_and_how_to_add_one():
    reg = registry(alpha="verifiers.scripted:ScriptedVerifier", beta="verifiers.scripted:ScriptedVerifier")
    with pytest.raises(RegistryError, match=r"unknown verifier 'gamma'; valid choices: alpha, beta\..*'urlvr.test_registry'"):
        reg.get("gamma")


def test_entries_are_imported_only_when_used(tmp_path: Path, monkeypatch):
    (tmp_path / "urlvr_lazy_probe.py").write_text("class Probe:\n    pass\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    reg = registry(probe="urlvr_lazy_probe:Probe")
    assert reg.names() == ["probe"] and "probe" in reg and reg.entry("probe").origin == "built-in"
    assert "urlvr_lazy_probe" not in sys.modules
    assert reg.get("probe").__name__ == "Probe"
    assert "urlvr_lazy_probe" in sys.modules
    monkeypatch.delitem(sys.modules, "urlvr_lazy_probe")


def test_import_failures_name_the_entry_and_its_origin():
    reg = registry(ghost="urlvr_no_such_module:Ghost", typo="verifiers.scripted:NoSuchClass")
    with pytest.raises(RegistryError, match=r"'ghost' \(built-in\) could not be imported from 'urlvr_no_such_module:Ghost'"):
        reg.get("ghost")
    with pytest.raises(RegistryError, match="has no attribute 'NoSuchClass'"):
        reg.get("typo")
    with pytest.raises(RegistryError, match="not of the form 'module:Attr'"):
        import_target("verifiers.scripted.ScriptedVerifier")


def test_entry_point_plugins_are_found_after_reload(add_plugin):
    reg = registry(alpha="verifiers.scripted:ScriptedVerifier")
    assert reg.names() == ["alpha"]
    add_plugin("acme-checkers", {"acme": "verifiers.scripted:ScriptedVerifier"}, group=GROUP)
    assert reg.names() == ["alpha"]  # cached until reload
    reg.reload()
    assert reg.names() == ["acme", "alpha"]
    assert reg.entry("acme").origin == "plugin acme-checkers"
    assert reg.get("acme").name == "scripted"


def test_plugin_reusing_a_builtin_name_is_an_error(add_plugin):
    add_plugin("evil-plugin", {"countdown": "verifiers.scripted:ScriptedVerifier"}, group=GROUP)
    reg = registry(countdown="verifiers.countdown:CountdownVerifier")
    with pytest.raises(RegistryError, match="duplicate verifier name 'countdown': built-in already registers it, and plugin evil-plugin"):
        reg.names()


def test_two_plugins_with_one_name_is_an_error(add_plugin):
    add_plugin("first-plugin", {"shared": "verifiers.scripted:ScriptedVerifier"}, group=GROUP)
    add_plugin("second-plugin", {"shared": "verifiers.scripted:ScriptedVerifier"}, group=GROUP)
    with pytest.raises(RegistryError, match="duplicate verifier name 'shared': plugin (first|second)-plugin already registers it"):
        registry().names()


def test_the_global_registry_rejects_a_plugin_shadowing_a_builtin(add_plugin):
    add_plugin("shadow-plugin", {"math": "verifiers.scripted:ScriptedVerifier"})
    VERIFIERS.reload()
    with pytest.raises(RegistryError, match="duplicate verifier name 'math'"):
        VERIFIERS.get("countdown")


def test_make_verifier_validates_the_config(scripted):
    assert make_verifier(scripted, {"timeout": 3}).timeout == 3
    with pytest.raises(ValueError, match="timeout"):
        make_verifier(scripted, {"timeout": 0})
