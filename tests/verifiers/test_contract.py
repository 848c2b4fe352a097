"""One contract for every registered verifier (built-in or plugin).

Convention: each verifier class has a classmethod ``examples()`` returning a non-empty list of
``(item, gold_completion)`` pairs that must score 1. A verifier that cannot be imported, or has no
examples, fails here (it is never skipped).
"""

from __future__ import annotations

import pickle
import time

import pytest

from verifiers.base import Needs, Verdict, Verifier, VerifierConfig, safe_verify
from verifiers.pool import make_pool
from verifiers.registry import VERIFIERS

NAMES = VERIFIERS.names()
GARBAGE = ["", "   \n", "I don't know.", "<answer></answer>", "\\boxed{}", "</answer><answer>", "\x00\ufffd\u202e"]
HOSTILE = {
    "1 MB of text": "a" * 1_000_000,
    "1 MB answer": "<answer>" + "1+" * 500_000 + "1</answer>",
    "10k nested brackets": "<answer>" + "(" * 10_000 + "1" + ")" * 10_000 + "</answer>",
    "10k nested braces": "\\boxed{" + "{" * 10_000 + "1" + "}" * 10_000 + "}",
    "power tower": "<answer>9**9**9**9**9</answer> \\boxed{9**9**9**9**9}",
    "latex power tower": "\\boxed{9^{9^{9^{9^{9}}}}}",
    "100k open tags": "<answer>" * 100_000,
}
HOSTILE_TIMEOUT = 2.0


@pytest.fixture(params=NAMES)
def cls(request) -> type[Verifier]:
    return VERIFIERS.get(request.param)  # an import failure fails the test


def gold(cls: type[Verifier]) -> list[tuple[dict, str]]:
    examples = getattr(cls, "examples", None)
    assert callable(examples), f"{cls.__name__} needs a classmethod examples() -> list[(item, gold_completion)]"
    pairs = list(examples())
    assert pairs, f"{cls.__name__}.examples() is empty"
    return pairs


def unavailable(cls: type[Verifier]) -> str | None:
    """Why this verifier cannot check gold answers on this machine (e.g. no Lean toolchain), or None."""
    check = getattr(cls, "unavailable", None)
    return check() if callable(check) else None


def test_metadata(cls):
    assert issubclass(cls, Verifier) and cls.name in NAMES
    assert isinstance(cls.needs, Needs) and isinstance(cls.deterministic, bool) and cls.default_timeout > 0
    assert issubclass(cls.Config, VerifierConfig) and cls.Config.model_config.get("extra") == "forbid"


def test_gold_examples_score_one(cls):
    if unavailable(cls):
        pytest.skip(f"{cls.name}: {unavailable(cls)}")
    verifier = cls()
    for item, completion in gold(cls):
        verdict = safe_verify(verifier, item, completion)
        assert (verdict.status, verdict.score) == ("correct", 1.0), (item, completion, verdict)


def test_every_call_returns_a_new_verdict(cls):
    # safe_verify stamps ``seconds`` into the verdict it gets, so a verifier must never hand out a shared one
    verifier = cls()
    item, completion = gold(cls)[0]
    first, second = verifier.verify(item, completion), verifier.verify(item, completion)
    assert first is not second
    stamped = safe_verify(verifier, item, completion)
    assert stamped.seconds > 0 and first.seconds == 0.0


@pytest.mark.parametrize("completion", GARBAGE, ids=repr)
def test_empty_and_garbage_are_not_correct(cls, completion):
    verifier = cls()
    for item, _ in gold(cls):
        verdict = safe_verify(verifier, item, completion)
        assert verdict.status in ("incorrect", "error") and verdict.reason.strip(), verdict
        assert verdict.score == (0.0 if verdict.status == "incorrect" else None)


def test_verifier_and_verdicts_pickle(cls):
    verifier = pickle.loads(pickle.dumps(cls()))
    item, completion = gold(cls)[0]
    verdict = safe_verify(verifier, item, completion)
    assert verdict.status == ("error" if unavailable(cls) else "correct"), verdict
    assert pickle.loads(pickle.dumps(verdict)) == verdict
    assert isinstance(pickle.loads(pickle.dumps(Verdict.timeout("t"))), Verdict)


def test_hostile_inputs_are_contained_by_the_local_pool(cls):
    pairs = gold(cls)
    item = pairs[0][0]
    completions = [c for _, c in pairs] + list(HOSTILE.values())
    start = time.monotonic()
    with make_pool(cls.name, backend="local", workers=2, timeout=HOSTILE_TIMEOUT) as pool:
        verdicts = pool.verify_batch([i for i, _ in pairs] + [item] * len(HOSTILE), completions)
    elapsed = time.monotonic() - start
    gold_status = "error" if unavailable(cls) else "correct"  # without its tool, gold is masked, never scored
    assert all(v.status == gold_status for v in verdicts[: len(pairs)]), verdicts[: len(pairs)]
    for label, verdict in zip(HOSTILE, verdicts[len(pairs) :]):
        assert verdict.status in ("correct", "incorrect", "error", "timeout"), (label, verdict)
        assert verdict.seconds <= HOSTILE_TIMEOUT + 1.0, (label, verdict)
        if cls.bounded:  # a bounded verifier runs unguarded inside a Ray actor: it must never need the limit
            assert verdict.status != "timeout", (label, verdict)
    # every hostile item either finished or was killed at the limit: generous bound, 2 workers
    assert elapsed < 30 + len(HOSTILE) * HOSTILE_TIMEOUT, elapsed
