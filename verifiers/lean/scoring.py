"""Pure scoring for Lean proofs: the proof block in a completion, the commands sent to Lean, and the verdict
read from Lean's answers (messages by severity, the REPL's sorry list, ``#print axioms``).

A proof is ``correct`` only when every message is free of errors, no sorry is reported (in the sorry list or a
``declaration uses 'sorry'`` warning), and the check theorem, whose statement is the task's statement
elaborated *before* the completion ran, is proved by the completion's theorem using only standard axioms.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from verifiers.lean.guards import RESERVED, Statement, reference_axiom

STANDARD_AXIOMS = frozenset({"propext", "Classical.choice", "Quot.sound"})
NATIVE_AXIOMS = frozenset({"Lean.ofReduceBool", "Lean.ofReduceNat", "Lean.trustCompiler"})
REASON_CHARS = 300

_FENCE = re.compile(r"```[ \t]*lean4?[ \t]*\r?\n", re.IGNORECASE)


def extract_proof(completion: str) -> str | None:
    """The contents of the last fenced ```lean (or ```lean4) block; None when there is no closed one."""
    last = None
    for last in _FENCE.finditer(completion):
        pass
    if last is None:
        return None
    end = completion.find("```", last.end())
    if end < 0:
        return None
    return completion[last.end() : end]


@dataclass(frozen=True)
class Commands:
    """The three commands for one item: the reference axiom, the proof, and the check (theorem + axioms)."""

    reference: str
    proof: str
    check: str
    check_name: str


def build_commands(statement: Statement, proof: str, nonce: str) -> Commands:
    """Commands run in order, each in the environment the previous one left (the first in the header's)."""
    check_name = f"{RESERVED}_check_{nonce}"
    check = (f"theorem {check_name} : type_of% @{RESERVED}_ref_{nonce} := @{statement.name}\n"
             f"#print axioms {check_name}\n")
    return Commands(reference_axiom(statement, nonce) + "\n", proof.rstrip() + "\n", check, check_name)


def one_file(header: str, commands: Commands) -> str:
    """The same commands as one Lean file (for backends that take whole files, such as kimina-lean-server)."""
    head = header.rstrip("\n")
    return (head + "\n\n" if head else "") + commands.reference + "\n" + commands.proof + "\n" + commands.check


# --------------------------------------------------------------------------- reading Lean's answers


def messages(response: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The response's messages, each a dict with at least ``severity`` and ``data`` (malformed ones dropped)."""
    out = []
    for m in response.get("messages") or []:
        if isinstance(m, Mapping) and isinstance(m.get("data"), str):
            out.append({"severity": str(m.get("severity", "error")), "data": m["data"], "pos": m.get("pos")})
    return out


def by_severity(msgs: Iterable[Mapping[str, Any]]) -> dict[str, list[Mapping[str, Any]]]:
    """Messages grouped by severity (error, warning, info, trace...)."""
    out: dict[str, list[Mapping[str, Any]]] = {}
    for m in msgs:
        out.setdefault(m["severity"], []).append(m)
    return out


def describe(message: Mapping[str, Any]) -> str:
    """One line for a message: position and the start of its text."""
    pos = message.get("pos")
    where = f"line {pos.get('line')}: " if isinstance(pos, Mapping) and "line" in pos else ""
    text = " ".join(str(message.get("data", "")).split())
    return (where + text)[:REASON_CHARS]


_AXIOMS = re.compile(r"'([^']+)' (?:depends on axioms: \[([^\]]*)\]|(does not depend on any axioms))")


def axioms_used(msgs: Iterable[Mapping[str, Any]], name: str) -> list[str] | None:
    """The axioms that ``#print axioms name`` reported, or None when it reported nothing for ``name``."""
    for m in msgs:
        if m["severity"] != "info":
            continue
        found = _AXIOMS.search(m["data"])
        if found and found.group(1).split(".")[-1] == name:
            return [] if found.group(3) else [a.strip() for a in found.group(2).split(",") if a.strip()]
    return None


@dataclass(frozen=True)
class Judgement:
    """What Lean's answers say: ``correct`` or ``incorrect`` with a reason."""

    correct: bool
    reason: str


def judge(proof_response: Mapping[str, Any], check_response: Mapping[str, Any], check_name: str,
          allowed_axioms: frozenset[str] = STANDARD_AXIOMS) -> Judgement:
    """The verdict on one proof from the REPL's answers to the proof command and to the check command."""
    proof_msgs, check_msgs = messages(proof_response), messages(check_response)
    bad = _first_problem(proof_msgs, proof_response.get("sorries"), "")
    if bad:
        return Judgement(False, bad)
    bad = _first_problem(check_msgs, check_response.get("sorries"), "the proved theorem is not the task's statement: ")
    if bad:
        return Judgement(False, bad)
    used = axioms_used(check_msgs, check_name)
    if used is None:
        return Judgement(False, "Lean did not report the axioms of the checked theorem (the proof may not have ended)")
    extra = sorted(set(used) - allowed_axioms)
    if extra:
        return Judgement(False, f"the proof depends on axioms beyond the standard ones: {', '.join(extra)}"[:REASON_CHARS])
    return Judgement(True, "Lean accepted the proof" + (f" (axioms: {', '.join(sorted(used))})" if used else " (no axioms)"))


def judge_one_file(response: Mapping[str, Any], check_name: str, allowed_axioms: frozenset[str] = STANDARD_AXIOMS) -> Judgement:
    """The verdict from one response to the whole file (``one_file``): the same rules, messages not split."""
    return judge(response, {"messages": response.get("messages")}, check_name, allowed_axioms)


def _first_problem(msgs: Sequence[Mapping[str, Any]], sorries: Any, prefix: str) -> str | None:
    groups = by_severity(msgs)
    if groups.get("error"):
        return prefix + "Lean error at " + describe(groups["error"][0])
    if sorries:
        return _sorry_reason(sorries)
    for m in groups.get("warning", []):
        if "sorry" in m["data"]:
            return "Lean reports that a declaration uses sorry (" + describe(m) + ")"
    return None


def _sorry_reason(sorries: Any) -> str:
    n = len(sorries) if isinstance(sorries, list) else 1
    return f"the REPL reports {n} sorry in the proof"[:REASON_CHARS]


def repl_failure(response: Mapping[str, Any]) -> str | None:
    """The REPL's own complaint (``{"message": ...}``: unknown environment, bad JSON), or None for a normal answer."""
    if "message" in response and "messages" not in response and "env" not in response:
        return str(response["message"])[:REASON_CHARS]
    return None


@dataclass(frozen=True)
class Prepared:
    """One item that passed the guards: what a backend sends to Lean."""

    header: str
    statement: Statement
    proof: str
    allowed_axioms: frozenset[str]
