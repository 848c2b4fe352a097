"""The math verifier: gold table (incl. Math-Verify issue cases), extraction, guards, hostile input under the pool."""

from __future__ import annotations

import importlib.util
import pickle
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from verifiers.base import safe_verify
from verifiers.math import MathVerifier, MathVerifierConfig
from verifiers.math.extract import answer_line, clean, extract_answer, last_boxed, plain_number, split_percent
from verifiers.math.guards import Limits, largest_power_digits, refuse
from verifiers.pool import make_pool
from verifiers.registry import make_verifier


def _load_gold():
    # Loaded by path: tests must not import helpers from other test modules as packages.
    spec = importlib.util.spec_from_file_location("math_gold", Path(__file__).with_name("math_gold.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


GOLD = _load_gold()
ROWS = [(g, f"Let me work it out.\n\nTherefore the answer is \\boxed{{{p}}}.", e, s, p) for g, p, e, s in GOLD.BOXED] + [
    (g, c, e, s, c) for g, c, e, s in GOLD.RAW
]
VERIFIER = MathVerifier()


def _param(gold, completion, expected, source, pred):
    marks = []
    reason = GOLD.XFAIL.get((gold, pred))
    if reason:
        marks.append(pytest.mark.xfail(reason=reason, strict=True))
    return pytest.param(gold, completion, expected, marks=marks, id=f"{source}:{gold[:25]}|{pred[:25]}")


def test_gold_table_is_large_and_balanced():
    assert len(ROWS) >= 150
    assert sum(1 for r in ROWS if r[2]) >= 60 and sum(1 for r in ROWS if not r[2]) >= 60
    assert sum(1 for r in ROWS if r[3].startswith("mv")) >= 25


@pytest.mark.parametrize(("gold", "completion", "expected"), [_param(*r) for r in ROWS])
def test_gold_table(gold, completion, expected):
    verdict = safe_verify(VERIFIER, {"answer": gold}, completion)
    assert verdict.status == ("correct" if expected else "incorrect"), verdict.reason
    assert verdict.score == (1.0 if expected else 0.0)


def test_examples_score_correct_and_wrong_answers_do_not():
    for item, completion in MathVerifier.examples():
        assert safe_verify(VERIFIER, item, completion).status == "correct"
        assert safe_verify(VERIFIER, item, "The answer is \\boxed{123456789}").status == "incorrect"
        assert safe_verify(VERIFIER, item, "").status == "incorrect"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("so \\boxed{\\frac{1}{2}}.", "\\frac{1}{2}"),
        ("\\boxed{1} then \\boxed{2}", "2"),
        ("\\boxed{1} then \\fbox{3}", "3"),
        ("\\boxed 5.", "5"),
        ("\\boxed{\\{1,2\\}}", "\\{1,2\\}"),
        ("\\boxed{\\}}", "\\}"),
        ("\\boxed{2", None),
        ("no box here", None),
        ("\\boxed", None),
    ],
)
def test_last_boxed(text, expected):
    assert last_boxed(text) == expected


def test_answer_line_and_cleaning():
    assert answer_line("blah\nThe final answer is $\\dfrac{3}{4}$.\n") == "\\dfrac{3}{4}"
    assert answer_line("**Final Answer**\n\n  42  ") == "42"
    assert answer_line("Answer: **7**") == "7"
    assert answer_line("nothing to see") is None
    assert extract_answer("The answer is 12", answer_line_fallback=False) is None
    assert clean("$\\displaystyle \\dfrac{1}{2}$.") == "\\frac{1}{2}"
    assert clean("\\(\\left( 1, 2 \\right)\\)") == "( 1, 2 )"
    assert clean("2,\\!500") == "2,500"
    assert clean("\\mathrm{e}^{2}") == "e^{2}"
    assert split_percent("12.5\\%") == ("12.5", True)
    assert split_percent("%") == ("%", False)


@pytest.mark.parametrize(
    ("text", "value"),
    [("42", 42), ("-3", -3), ("1,000", 1000), ("2 500", 2500), ("0.25", 0.25), ("1/4", 0.25),
     ("\\frac{1}{4}", 0.25), ("\\frac14", 0.25), ("-\\frac{3}{2}", -1.5), ("0.\\overline{3}", 1 / 3),
     ("x", None), ("1/0", None), ("2^{10}", None), ("1,00", None)],
)
def test_plain_number(text, value):
    result = plain_number(text)
    assert (result is None) if value is None else (result is not None and abs(float(result) - value) < 1e-12)


def test_guards_refuse_hostile_and_admit_ordinary_answers():
    limits = Limits()
    for bad in ("9^{9^{9^9}}", "10^{10^{10}}", "2^{100000}", "100000!", "(10^{10})!", "(3!)!", "(" * 100 + "1" + ")" * 100, "1+" * 600):
        assert refuse(bad, limits), bad
    for ok in ("2^{10}", "2^{2006}", "\\frac{1}{2004!}", "x^{y^{z}}", "(n+1)!", "\\sqrt{2}", "2^{2^{3}}"):
        assert refuse(ok, limits) is None, ok
    assert largest_power_digits("2^{10}") == pytest.approx(4.01, abs=0.01)
    assert largest_power_digits("9^{9^{9^9}}") == float("inf")


def test_bad_items_are_errors_not_crashes():
    assert safe_verify(VERIFIER, {}, "\\boxed{1}").status == "error"
    assert safe_verify(VERIFIER, {"answer": ""}, "\\boxed{1}").status == "error"
    assert safe_verify(VERIFIER, {"answer": 0.5}, "\\boxed{\\frac12}").status == "correct"
    assert safe_verify(VERIFIER, {"answer": 3.0}, "\\boxed{3}").status == "correct"
    assert safe_verify(VERIFIER, {"answer": 1e-07}, "\\boxed{0.0000001}").status == "correct"  # not str(): e - 7
    assert safe_verify(VERIFIER, {"answer": 1e-07}, "\\boxed{e - 7}").status == "incorrect"
    assert safe_verify(VERIFIER, {"answer": float("nan")}, "\\boxed{1}").status == "error"
    assert safe_verify(VERIFIER, {"answer": "1"}, None).status == "error"  # type: ignore[arg-type]


def test_gold_refused_by_guards_is_error_but_identical_text_still_matches():
    item = {"answer": "9^{9^{9^9}}"}
    assert safe_verify(VERIFIER, item, "\\boxed{9^{9^{9^9}}}").status == "correct"
    verdict = safe_verify(VERIFIER, item, "\\boxed{3}")
    assert verdict.status == "error" and "gold" in verdict.reason


def test_model_text_is_never_evaluated_as_python(monkeypatch):
    import latex2sympy2_extended.latex2sympy2 as l2s
    import math_verify.parser as mv_parser

    def forbidden(*args, **kwargs):
        raise AssertionError("parse_expr must not be called on model text")

    monkeypatch.setattr(mv_parser, "parse_expr", forbidden)
    monkeypatch.setattr(l2s, "parse_expr", forbidden)
    verdict = safe_verify(VERIFIER, {"answer": "0"}, "\\boxed{__import__('os').system('false')}")
    assert verdict.status == "incorrect"
    assert safe_verify(VERIFIER, {"answer": "1/2"}, "\\boxed{0.5}").status == "correct"
    assert safe_verify(VERIFIER, {"answer": "x^2-1"}, "\\boxed{(x-1)(x+1)}").status == "correct"


def test_works_off_the_main_thread():
    # Math-Verify's own timeouts use signal.alarm, which raises off the main thread; ours must not.
    with ThreadPoolExecutor(2) as pool:
        verdicts = list(pool.map(lambda c: VERIFIER.verify({"answer": "\\frac{\\pi}{2}"}, c), ["\\boxed{\\frac12\\pi}", "\\boxed{\\pi}"]))
    assert [v.status for v in verdicts] == ["correct", "incorrect"]


def test_config_is_validated_and_verifier_pickles():
    with pytest.raises(ValueError):
        make_verifier("math", {"no_such_option": 1})
    verifier = make_verifier("math", {"max_answer_chars": 50, "timeout": 3})
    assert isinstance(verifier, MathVerifier) and verifier.timeout == 3
    clone = pickle.loads(pickle.dumps(verifier))
    assert clone.config == verifier.config
    assert clone.verify({"answer": "2"}, "\\boxed{" + "1+" * 30 + "1}").status == "incorrect"


HOSTILE = {
    "power tower": "\\boxed{9^{9^{9^9}}}",
    "Math-Verify #65 tower": "\\boxed{\\dfrac{5^{\\left(5^{\\left(5^{\\left(5^5\\right)}\\right)} - 4\\right)} - 5}{16}}",
    "huge factorial": "\\boxed{1000000!}",
    "factorial of a power": "\\boxed{(10^{10})!}",
    "10,000-deep brackets": "\\boxed{" + "(" * 10_000 + "1" + ")" * 10_000 + "}",
    "10,000-deep braces": "\\boxed{" + "{" * 10_000 + "1" + "}" * 10_000 + "}",
    "1 MB string": "7" * (1 << 20) + " so \\boxed{1}",
    "1 MB unclosed box": "\\boxed{" + "{" * (1 << 20),
}
TIMEOUT = 20.0  # the pool's hard limit; the judge may wait 15 s for BUDGET CPU seconds, so load cannot mask
BUDGET = 0.5
SLACK = 15.0  # worker start (sympy import) and judge restart after a kill


@pytest.fixture(scope="module")
def guarded_pool():
    # the timeout goes in the verifier's config: its comparison budget is half of it, inside the pool's limit
    with make_pool("math", {"timeout": TIMEOUT, "compare_budget": BUDGET}, backend="local") as pool:
        pool.verify_batch([{"answer": "x^2-1"}], ["\\boxed{(x-1)(x+1)}"])  # warm the worker and its judge child
        yield pool


@pytest.fixture(scope="module")
def unguarded_pool():
    """Guards switched off, so sympy really meets the hostile input and only the judge's budget stops it."""
    with make_pool("math", {"guards": False, "timeout": TIMEOUT, "compare_budget": BUDGET}, backend="local") as pool:
        pool.verify_batch([{"answer": "x^2-1"}], ["\\boxed{(x-1)(x+1)}"])
        yield pool


@pytest.mark.timeout(120)
def test_hostile_inputs_are_contained_by_guards(guarded_pool):
    start = time.monotonic()
    verdicts = guarded_pool.verify_batch([{"answer": "1"}] * len(HOSTILE), list(HOSTILE.values()))
    elapsed = time.monotonic() - start
    for name, verdict in zip(HOSTILE, verdicts):
        assert verdict.status == "incorrect" and verdict.reason, (name, verdict)  # a 0, never masked
    assert elapsed < len(HOSTILE) * TIMEOUT + SLACK
    assert guarded_pool.verify_batch([{"answer": "2"}], ["\\boxed{2}"])[0].status == "correct"


@pytest.mark.timeout(120)
@pytest.mark.parametrize(
    "completion",
    ["\\boxed{9^{9^{9^9}}}", "\\boxed{(10^{10})!}", HOSTILE["10,000-deep brackets"], "\\boxed{\\frac{d}{dx} x^{10^{8}}}"],
    ids=["tower", "factorial", "deep-brackets", "derivative"],
)
def test_hostile_inputs_without_guards_score_incorrect_within_the_budget(unguarded_pool, completion):
    # Guards off: sympy really meets the input; the judge child's CPU budget stops it, so
    # the answer scores 0 instead of running into the pool's hard timeout, which would mask it from the reward.
    start = time.monotonic()
    verdict = unguarded_pool.verify_batch([{"answer": "1"}], [completion])[0]
    assert verdict.status == "incorrect" and verdict.score == 0.0, verdict
    assert time.monotonic() - start < TIMEOUT + SLACK
    assert unguarded_pool.verify_batch([{"answer": "1/2"}], ["\\boxed{\\frac{2}{4}}"])[0].status == "correct"
    assert unguarded_pool.verify_batch([{"answer": "x^2-1"}], ["\\boxed{(x-1)(x+1)}"])[0].status == "correct"


def test_budget_overrun_is_incorrect_with_the_reason_in_process():
    verifier = MathVerifier({"guards": False, "compare_budget": 0.5, "timeout": 20})
    verdict = safe_verify(verifier, {"answer": "1"}, "\\boxed{9^{9^{9^9}}}")
    assert verdict.status == "incorrect" and "budget" in verdict.reason
    assert safe_verify(verifier, {"answer": "x^2-1"}, "\\boxed{(x-1)(x+1)}").status == "correct"  # a fresh child


def test_a_judge_child_killed_from_outside_is_replaced_and_the_answer_still_judged():
    import os
    import signal

    verifier = MathVerifier()
    assert safe_verify(verifier, {"answer": "x^2-1"}, "\\boxed{(x-1)(x+1)}").status == "correct"
    os.kill(verifier.judge._child.pid, signal.SIGKILL)  # as an OOM killer would: not the next answer's fault
    assert safe_verify(verifier, {"answer": "x^2-1"}, "\\boxed{(x-1)(x+1)}").status == "correct"
    assert safe_verify(verifier, {"answer": "x^2-1"}, "\\boxed{(x-1)(x+2)}").status == "incorrect"
    verifier.judge.close()


def test_an_answer_that_kills_the_judge_twice_is_incorrect(monkeypatch):
    import os

    from verifiers.math import equivalence

    real = equivalence.compare

    def crashing(gold, pred, min_sig_digits=3):
        if pred == "crash":  # stands in for an answer that overflows sympy's C stack or its memory limit
            os._exit(3)
        return real(gold, pred, min_sig_digits)

    monkeypatch.setattr(equivalence, "compare", crashing)  # forked children inherit it
    verifier = MathVerifier()
    verdict = safe_verify(verifier, {"answer": "x^2-1"}, "\\boxed{crash}")
    assert verdict.status == "incorrect" and "twice" in verdict.reason, verdict
    assert safe_verify(verifier, {"answer": "x^2-1"}, "\\boxed{(x-1)(x+1)}").status == "correct"
    verifier.judge.close()


def test_a_judge_child_that_cannot_be_made_is_an_error(monkeypatch):
    import os

    def no_fork():
        raise BlockingIOError(11, "Resource temporarily unavailable")  # the process limit: no completion causes it

    verifier = MathVerifier()
    monkeypatch.setattr(os, "fork", no_fork)
    verdict = safe_verify(verifier, {"answer": "x^2-1"}, "\\boxed{(x-1)(x+1)}")
    assert verdict.status == "error" and "could not be made" in verdict.reason
    assert safe_verify(verifier, {"answer": "1/2"}, "\\boxed{0.5}").status == "correct"  # plain numbers need no child


def test_a_judge_child_keeps_no_inherited_descriptors(tmp_path):
    import os

    held = open(tmp_path / "held", "w")  # stands for the pool's or the trainer's sockets and pipes
    verifier = MathVerifier()
    assert verifier.judge.compare("x^2-1", "(x-1)(x+1)", 3).status == "correct"  # a round trip: the child serves
    fds = set(os.listdir(f"/proc/{verifier.judge._child.pid}/fd"))
    assert str(held.fileno()) not in fds and len(fds) <= 6, fds  # stdio, /dev/null for stray prints, two pipes
    held.close()
    verifier.judge.close()


def test_config_class_is_exported():
    assert MathVerifier.Config is MathVerifierConfig
