"""The code verifier: pure scoring helpers (extraction, items, reading results) and the verifier on real bwrap."""

from __future__ import annotations

import json
import pickle
import sys
from pathlib import Path

import pytest

from sandboxes import ExecResult
from verifiers.base import Verdict
from verifiers.code import CodeVerifier
from verifiers.code.scoring import (Job, Tally, extract_code, io_inputs, parse_item, read_cases, read_judge,
                                    solution_source, verdict)
from verifiers.registry import make_verifier

pytestmark = pytest.mark.timeout(180)

EXTRACT = [  # (completion, expected code)
    ("x = 1", "x = 1"),
    ("text\n```python\na = 1\n```\nmore\n```python\nb = 2\n```\nbye", "b = 2"),
    ("```python\na = 1\n```\n```\nplain\n```", "a = 1"),
    ("```\nplain\n```", "plain"),
    ("```py\nc = 3\n```", "c = 3"),
    ("intro\n```python\ndef f():\n    return 1", "def f():\n    return 1"),  # cut off before the closing fence
    ("    return x\n", "    return x"),  # a body-only completion keeps its indentation
    ("", ""),
]


@pytest.mark.parametrize("completion,code", EXTRACT)
def test_extract_code(completion, code):
    assert extract_code(completion) == code


def test_parse_item_reads_our_rows_and_humaneval_rows():
    ours = parse_item({"tests": ["assert f()"], "entry_point": "f", "setup": "import math", "starter_code": "def f():\n"})
    assert ours == Job(["assert f()"], [], "f", "import math", "def f():\n")
    he = parse_item({"task_id": "HumanEval/0", "prompt": "def g(x):\n    \"\"\"doc\"\"\"\n", "test": "def check(c): pass",
                     "entry_point": "g", "canonical_solution": "    return x\n"})
    assert he == Job(["def check(c): pass"], [], "g", "", "def g(x):\n    \"\"\"doc\"\"\"\n")
    assert parse_item({"io_tests": [{"input": "1", "output": "2"}]}).cases == [("1", "2")]


@pytest.mark.parametrize("item", [{}, {"tests": ""}, {"tests": 3}, {"io_tests": [{"input": "1"}]},
                                  {"tests": "x", "entry_point": 5}, {"tests": "x", "entry_point": "a b"}])
def test_parse_item_rejects_bad_items(item):
    with pytest.raises(ValueError):
        parse_item(item)


SOURCE = [  # (code, program run): a body-only completion follows its starter; a full one runs alone
    ("    return x + 1", "def g(x):\n    return x + 1"),
    ("def g(x):\n    return x + 1", "def g(x):\n    return x + 1"),
    ("import math\n\ndef g(x):\n    return x", "import math\n\ndef g(x):\n    return x"),
    ("g = lambda x: x", "g = lambda x: x"),
]


@pytest.mark.parametrize("code,program", SOURCE)
def test_solution_source(code, program):
    assert solution_source(Job(["t"], [], "g", "", "def g(x):\n"), code) == program


def test_io_inputs_carry_no_expected_output():
    job = Job([], [("3 4\n", "SECRET-7\n")])
    text = io_inputs(job, 2.0, 1000)
    assert "SECRET" not in text and json.loads(text)["inputs"] == ["3 4\n"]


def _res(stdout: str = "", exit_code: int | None = 0, killed: bool = False, reason=None, stderr: str = "") -> ExecResult:
    return ExecResult(exit_code, stdout, stderr, False, False, 0.1, 0.1, 10.0, killed, reason)


def _case(i, out, exit=0, timeout=False):
    return json.dumps({"case": i, "exit": exit, "timeout": timeout, "stdout": out, "truncated": False, "stderr": ""})


IO_JOB = Job([], [("1", "2\n"), ("2", "3")])
READ_CASES = [  # (runner stdout, passed, first failure contains)
    (_case(0, "2") + "\n" + _case(1, "3  \n"), 2, None),
    (_case(0, "2") + "\n" + _case(1, "4"), 1, "wrong output"),
    (_case(0, "2"), 1, "no result"),  # the run ended before case 1
    (_case(0, "2") + "\n" + _case(1, "", exit=None, timeout=True), 1, "time limit"),
    (_case(0, "2") + "\n" + _case(1, "3", exit=1), 1, "exit 1"),
    ("garbage\n{\n" + _case(7, "x") + "\n" + _case(0, "2"), 1, "no result"),  # junk and out-of-range cases ignored
]


@pytest.mark.parametrize("stdout,passed,failure", READ_CASES)
def test_read_cases_compares_outside_the_sandbox(stdout, passed, failure):
    tally = read_cases(IO_JOB, _res(stdout))
    assert (tally.passed, tally.total, tally.fatal) == (passed, 2, None)
    assert failure is None and not tally.failures or failure in tally.failures[0]


def _reply(**kw):
    return {"passed": 1, "total": 1, "calls": 2, "failures": [], "fatal": None, "limit": False, "item_error": None, **kw}


READ_JUDGE = [  # (judge reply, sandbox result, status after verdict())
    (_reply(), _res(), "correct"),
    (_reply(passed=0, failures=["test 0 assertion failed"]), _res(), "incorrect"),
    (_reply(passed=1, fatal="the solution ran over the time limit", limit=True), _res(killed=True, reason="wall"), "incorrect"),
    (_reply(fatal="the solution's process ended before answering"), _res(exit_code=0), "incorrect"),
    (_reply(calls=0), _res(), "error"),  # the item's tests never call the solution: the item's fault
    (_reply(item_error="bad task item: its setup code fails"), _res(), "error"),
    ({"internal": "judge child died"}, _res(), "error"),
    ({"passed": "x"}, _res(), "error"),
]


@pytest.mark.parametrize("reply,result,status", READ_JUDGE)
def test_read_judge(reply, result, status):
    read = read_judge(reply, result)
    final = read if isinstance(read, Verdict) else verdict([read])
    assert final.status == status and final.reason


def test_verdict_sums_kinds_and_scores_fractions():
    assert verdict([Tally(2, 2), Tally(1, 1)]).status == "correct"
    assert verdict([Tally(2, 2), Tally(0, 2, ["x"])], "fraction").score == pytest.approx(0.5)
    assert verdict([Tally(2, 2), Tally(2, 2, fatal="exited")], "fraction").score == 0.0


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


def test_tests_can_expect_the_solution_to_raise(verifier):
    item = {"tests": "try:\n    half(3)\n    assert False\nexcept ValueError as e:\n    assert 'odd' in str(e)\nassert half(4) == 2"}
    gold = "def half(n):\n    if n % 2:\n        raise ValueError('odd')\n    return n // 2"
    assert verifier.verify(item, gold).status == "correct"
    assert verifier.verify(item, "def half(n):\n    return n // 2").status == "incorrect"


def test_solution_helpers_cannot_shadow_builtins_in_the_tests(verifier):
    item = {"tests": "assert all([add(1, 1) == 2, add(2, 2) == 5])"}  # unsatisfiable
    hack = "def add(a, b):\n    return a + b\ndef all(xs):\n    return True"
    assert verifier.verify(item, hack).status == "incorrect"


def test_fraction_scoring():
    v = CodeVerifier({"scoring": "fraction"})
    try:
        verdict_ = v.verify(ADD_TESTS, "def add(a, b):\n    return 3")
    finally:
        v.close()
    assert verdict_.status == "incorrect" and verdict_.score == pytest.approx(1 / 3)


def test_io_tests(verifier):
    item = {"io_tests": [{"input": "3 4\n", "output": "7\n"}, {"input": "10 -2", "output": "8"}]}
    assert verifier.verify(item, "a, b = map(int, input().split())\nprint(a + b)").status == "correct"
    wrong = verifier.verify(item, "a, b = map(int, input().split())\nprint(a - b)")
    assert wrong.status == "incorrect" and "wrong output" in wrong.reason
    v = CodeVerifier({"case_timeout": 0.5})
    try:
        slow = v.verify(item, "import time\ntime.sleep(5)")
    finally:
        v.close()
    assert slow.status == "incorrect" and slow.score == 0.0 and "time limit" in slow.reason


def test_limits_are_incorrect_not_masked():
    v = CodeVerifier({"limits": {"wall_seconds": 1.5, "cpu_seconds": 30}})
    try:
        verdict_ = v.verify(ADD_TESTS, "def add(a, b):\n    while True:\n        pass")
    finally:
        v.close()
    assert verdict_.status == "incorrect" and verdict_.score == 0.0 and "time limit" in verdict_.reason


def test_bad_item_and_sandbox_failure_are_errors(verifier, tmp_path):
    assert verifier.verify({"question": "no tests"}, "pass").status == "error"
    assert verifier.verify({"tests": "assert True"}, "def f():\n    return 1").status == "error"  # never calls it
    broken = CodeVerifier({"sandbox_options": {"bwrap": str(tmp_path / "no-bwrap")}})
    verdict_ = broken.verify(ADD_TESTS, "def add(a, b):\n    return a + b")
    assert verdict_.status == "error" and verdict_.score is None and "sandbox failed" in verdict_.reason


def test_empty_completion_is_incorrect(verifier):
    assert verifier.verify(ADD_TESTS, "  ").status == "incorrect"


def test_verify_batch_runs_concurrently_and_keeps_order(verifier):
    completions = ["def add(a, b):\n    return a + b", "def add(a, b):\n    return 0", 42, "def add(a, b):\n    return b + a"]
    verdicts = verifier.verify_batch([ADD_TESTS] * 4, completions)
    assert [v.status for v in verdicts] == ["correct", "incorrect", "error", "correct"]


def test_judges_are_reused_and_replaced_after_a_kill(verifier):
    verifier.verify(ADD_TESTS, "def add(a, b):\n    return a + b")
    judge = verifier._judges._idle[-1]
    assert verifier.verify(ADD_TESTS, "def add(a, b):\n    return a + b").status == "correct"
    assert verifier._judges._idle[-1] is judge  # the same process served the second call
    judge.proc.kill()
    judge.proc.wait()
    assert verifier.verify(ADD_TESTS, "def add(a, b):\n    return a + b").status == "correct"


def test_config_is_validated_and_verifier_pickles():
    with pytest.raises(Exception, match="valid choices"):
        CodeVerifier({"sandbox": "nope"})
    with pytest.raises(ValueError, match="attach.*valid choices: bwrap"):
        CodeVerifier({"sandbox": "docker"})
    with pytest.raises(Exception):
        CodeVerifier({"scoring": "most"})
    with pytest.raises(Exception):
        CodeVerifier({"limit_verdict": "timeout"})  # gone: a limit the solution hits is never masked
    v = make_verifier("code", {"scoring": "fraction", "limits": {"wall_seconds": 3}})
    clone = pickle.loads(pickle.dumps(v))
    assert clone.config == v.config and clone.timeout == 16.0
    assert v.needs.sandbox


sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/: the linear_time helper
from linear_time import assert_linear  # noqa: E402

FENCE_SHAPES = {  # 1 MB of each: every one was quadratic (or worse) under the old regex extraction
    "backticks": "```",
    "backticks and spaces": "``` ",
    "open python fences": "```python ",
    "empty blocks": "```\n",
    "python blocks": "```python\nx\n",
    "unclosed python": "```python\n" + "x = 1 ",
}


@pytest.mark.parametrize("shape", sorted(FENCE_SHAPES))
def test_extract_code_is_linear(shape):
    unit = FENCE_SHAPES[shape]
    assert_linear(extract_code, lambda n: unit * max(1, n // len(unit)))
