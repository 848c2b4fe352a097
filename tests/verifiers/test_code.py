"""The code verifier: pure scoring helpers (extraction, jobs, reading a run) and the verifier on real bwrap."""

from __future__ import annotations

import json
import pickle

import pytest

from sandboxes import ExecResult
from verifiers.base import Verdict
from verifiers.code import CodeVerifier
from verifiers.code.scoring import MARKER, build_job, extract_code, interpret, parse_result
from verifiers.registry import make_verifier

pytestmark = pytest.mark.timeout(120)

EXTRACT = [  # (completion, expected code)
    ("x = 1", "x = 1"),
    ("text\n```python\na = 1\n```\nmore\n```python\nb = 2\n```\nbye", "b = 2"),
    ("```python\na = 1\n```\n```\nplain\n```", "a = 1"),
    ("```\nplain\n```", "plain"),
    ("```py\nc = 3\n```", "c = 3"),
    ("intro\n```python\ndef f():\n    return 1", "def f():\n    return 1"),  # cut off before the closing fence
    ("", ""),
]


@pytest.mark.parametrize("completion,code", EXTRACT)
def test_extract_code(completion, code):
    assert extract_code(completion) == code


def test_build_job_writes_harness_solution_and_tests():
    files = build_job({"tests": ["assert f()"], "entry_point": "f", "setup": "import math"}, "def f(): return 1", 2.0)
    job = json.loads(files["job.json"])
    assert files["solution.py"] == "def f(): return 1" and MARKER in files["harness.py"]
    assert job == {"tests": ["assert f()"], "cases": [], "entry_point": "f", "setup": "import math", "case_timeout": 2.0}


@pytest.mark.parametrize("item", [{}, {"tests": ""}, {"tests": 3}, {"io_tests": [{"input": "1"}]}, {"tests": "x", "entry_point": 5}])
def test_build_job_rejects_bad_items(item):
    with pytest.raises(ValueError):
        build_job(item, "pass", 1.0)


def _res(stdout: str = "", exit_code: int | None = 0, killed: bool = False, reason=None, stderr: str = "") -> ExecResult:
    return ExecResult(exit_code, stdout, stderr, False, False, 0.1, 0.1, 10.0, killed, reason)


def _line(nonce: str, passed: int, total: int, limit: bool = False) -> str:
    return MARKER + json.dumps({"nonce": nonce, "passed": passed, "total": total, "limit": limit, "failures": ["test 1 failed"]})


INTERPRET = [  # (result, scoring, status, score)
    (_res(_line("n", 3, 3)), "all", "correct", 1.0),
    (_res(_line("n", 2, 3)), "all", "incorrect", 0.0),
    (_res(_line("n", 2, 3)), "fraction", "incorrect", 2 / 3),
    (_res(_line("other", 3, 3)), "all", "incorrect", 0.0),  # someone else's nonce
    (_res("PASSED\nall tests passed"), "all", "incorrect", 0.0),
    (_res(_line("n", 3, 3) + "\n" + _line("n", 0, 3)), "all", "incorrect", 0.0),  # the last valid line counts
    (_res("", exit_code=1, stderr="Traceback\nNameError: x"), "all", "incorrect", 0.0),
    (_res("", exit_code=None, killed=True, reason="wall"), "all", "timeout", None),
    (_res("", exit_code=137, killed=True, reason="memory"), "all", "timeout", None),
    (_res(_line("n", 1, 2, limit=True)), "all", "timeout", None),
    (_res(_line("n", 0, 0)), "all", "error", None),
]


@pytest.mark.parametrize("result,scoring,status,score", INTERPRET)
def test_interpret(result, scoring, status, score):
    verdict = interpret(result, "n", scoring)
    assert (verdict.status, verdict.score) == (status, pytest.approx(score) if score is not None else None)


def test_limits_can_count_as_incorrect():
    verdict = interpret(_res("", exit_code=None, killed=True, reason="wall"), "n", limit_verdict="incorrect")
    assert verdict.status == "incorrect" and "wall" in verdict.reason


def test_parse_result_ignores_garbage():
    assert parse_result(MARKER + "{not json\n" + MARKER + "[1]", "n") is None


@pytest.fixture(scope="module")
def verifier():
    v = CodeVerifier()
    yield v
    v.close()


ADD_TESTS = {"tests": ["assert add(1, 2) == 3", "assert add(-1, 1) == 0", "assert add(2, 2) == 4"]}
HE_ITEM = {"tests": "def check(candidate):\n    assert candidate([1, 2]) == 3\n    assert candidate([]) == 0\n",
           "entry_point": "total", "setup": "from typing import List"}


def test_gold_scores_one_and_wrong_scores_zero(verifier):
    assert verifier.verify(ADD_TESTS, "```python\ndef add(a, b):\n    return a + b\n```") == Verdict.correct("3/3 tests passed")
    wrong = verifier.verify(ADD_TESTS, "```python\ndef add(a, b):\n    return a * b\n```")
    assert wrong.status == "incorrect" and wrong.score == 0.0 and "1/3" in wrong.reason


def test_humaneval_style_check_with_entry_point_and_setup(verifier):
    gold = "def total(xs: List[int]) -> int:\n    return sum(xs)"
    assert verifier.verify(HE_ITEM, gold).status == "correct"
    assert verifier.verify(HE_ITEM, "def total(xs: List[int]) -> int:\n    return 3").status == "incorrect"
    missing = verifier.verify(HE_ITEM, "def other(xs):\n    return sum(xs)")
    assert missing.status == "incorrect" and "does not define" in missing.reason


def test_fraction_scoring():
    v = CodeVerifier({"scoring": "fraction"})
    verdict = v.verify(ADD_TESTS, "def add(a, b):\n    return 3")
    assert verdict.status == "incorrect" and verdict.score == pytest.approx(1 / 3)


def test_io_tests(verifier):
    item = {"io_tests": [{"input": "3 4\n", "output": "7\n"}, {"input": "10 -2", "output": "8"}]}
    assert verifier.verify(item, "a, b = map(int, input().split())\nprint(a + b)").status == "correct"
    wrong = verifier.verify(item, "a, b = map(int, input().split())\nprint(a - b)")
    assert wrong.status == "incorrect" and "wrong output" in wrong.reason
    slow = CodeVerifier({"case_timeout": 0.5}).verify(item, "import time\ntime.sleep(5)")
    assert slow.status == "timeout" and slow.score is None


def test_limits_are_timeouts_not_incorrect():
    v = CodeVerifier({"limits": {"wall_seconds": 1.5, "cpu_seconds": 30}})
    verdict = v.verify(ADD_TESTS, "def add(a, b):\n    while True:\n        pass\nadd(1, 2)")
    assert verdict.status == "timeout" and verdict.score is None and "wall" in verdict.reason


def test_bad_item_and_sandbox_failure_are_errors(verifier, tmp_path):
    assert verifier.verify({"question": "no tests"}, "pass").status == "error"
    broken = CodeVerifier({"sandbox_options": {"bwrap": str(tmp_path / "no-bwrap")}})
    verdict = broken.verify(ADD_TESTS, "def add(a, b):\n    return a + b")
    assert verdict.status == "error" and verdict.score is None and "sandbox failed" in verdict.reason


def test_empty_completion_is_incorrect(verifier):
    assert verifier.verify(ADD_TESTS, "  ").status == "incorrect"


def test_verify_batch_runs_concurrently_and_keeps_order(verifier):
    completions = ["def add(a, b):\n    return a + b", "def add(a, b):\n    return 0", 42, "def add(a, b):\n    return b + a"]
    verdicts = verifier.verify_batch([ADD_TESTS] * 4, completions)
    assert [v.status for v in verdicts] == ["correct", "incorrect", "error", "correct"]


def test_config_is_validated_and_verifier_pickles():
    with pytest.raises(Exception, match="valid choices"):
        CodeVerifier({"sandbox": "nope"})
    with pytest.raises(Exception):
        CodeVerifier({"scoring": "most"})
    v = make_verifier("code", {"scoring": "fraction", "limits": {"wall_seconds": 3}})
    clone = pickle.loads(pickle.dumps(v))
    assert clone.config == v.config and clone.timeout == 13.0
    assert v.needs.sandbox
