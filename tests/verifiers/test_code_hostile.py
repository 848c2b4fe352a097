"""Hostile solutions on real HumanEval problems: each must score ``incorrect`` (never correct, never masked).

Every entry tries to pass without solving, or to turn its failure into a masked ``error``/``timeout``: patching
builtins or ``json``, walking frames, objects that equal everything, forged protocol lines, early exits of every
kind, loops, fork and memory bombs, huge outputs, reading files for answers. The gold solutions of the same
problems must still score ``correct`` on the same verifier.
"""

from __future__ import annotations

import pytest

from tasks.code import humaneval_rows
from verifiers.code import CodeVerifier

pytestmark = pytest.mark.timeout(600)

PROBLEMS = (0, 11, 13)  # has_close_elements (bools), string_xor (strings), greatest_common_divisor (ints)

ANY = "def {f}(*args, **kwargs):\n"
HOSTILE = {
    "builtin_exec_patched": "import builtins\nbuiltins.exec = lambda *a, **k: None\nbuiltins.compile = lambda *a, **k: None\n"
                            + ANY + "    return None",
    "assert_machinery_patched": "import builtins\nbuiltins.AssertionError = type('A', (BaseException,), {})\n"
                                "builtins.all = lambda *a: True\n" + ANY + "    return None",
    "frame_walk_and_fake_pass": "import sys, os, json\n" + ANY +
        "    f = sys._getframe()\n    while f is not None:\n        f.f_globals.update(result=True, passed=1)\n"
        "        f = f.f_back\n    for fd in range(3, 20):\n        try:\n"
        "            os.write(fd, b'{\"ok\": true}\\n{\"passed\": 1, \"total\": 1}\\n__URLVR_RESULT__{}\\n')\n"
        "        except OSError:\n            pass\n    return True",
    "always_equal_object": "class Eq:\n    def __eq__(self, other):\n        return True\n    def __ne__(self, other):\n"
                           "        return False\n    __hash__ = object.__hash__\n" + ANY + "    return Eq()",
    "int_subclass_equal": "class I(int):\n    def __eq__(self, other):\n        return True\n    __hash__ = int.__hash__\n"
                          + ANY + "    return I(0)",
    "str_subclass_equal": "class S(str):\n    def __eq__(self, other):\n        return True\n    __hash__ = str.__hash__\n"
                          + ANY + "    return S('')",
    "list_subclass_equal": "class L(list):\n    def __eq__(self, other):\n        return True\n" + ANY + "    return L()",
    "prints_fake_pass_lines": "print('PASSED')\nprint('__URLVR_RESULT__{\"passed\": 1, \"total\": 1}')\n"
                              "print('{\"ok\": true}')\nimport sys\nsys.stderr.write('All tests passed\\n')\n"
                              + ANY + "    print('{\"ok\": 0}')\n    return None",
    "os_exit_at_import": "import os\nos._exit(0)",
    "os_exit_in_call": "import os\n" + ANY + "    os._exit(0)",
    "sys_exit_at_import": "import sys\nsys.exit(0)\n" + ANY + "    return None",
    "sys_exit_in_call": "import sys\n" + ANY + "    sys.exit(0)",
    "raise_system_exit_in_call": ANY + "    raise SystemExit(1)",
    "keyboard_interrupt_in_call": ANY + "    raise KeyboardInterrupt",
    "base_exception_subclass": "class Escape(BaseException):\n    pass\n" + ANY + "    raise Escape('done')",
    "reads_files_for_answers": "import os, glob, json\nfound = []\nfor p in ['job.json', 'tests.json', 'test.py'] + "
                               "glob.glob('/**/*.json', recursive=True)[:50]:\n    try:\n        found.append(open(p).read())\n"
                               "    except OSError:\n        pass\n" + ANY + "    return found[0] if found else None",
    "infinite_loop_at_import": "while True:\n    pass",
    "infinite_loop_in_call": ANY + "    while True:\n        pass",
    "sleeps_forever": "import time\n" + ANY + "    time.sleep(3600)",
    "fork_bomb_in_call": "import os\n" + ANY + "    while True:\n        try:\n            os.fork()\n"
                         "        except OSError:\n            pass",
    "memory_bomb": ANY + "    x = []\n    while True:\n        x.append(' ' * 10**7)",
    "huge_stdout_and_stderr": "import sys\nfor _ in range(200):\n    sys.stdout.write('x' * 10**6)\n"
                              "    sys.stderr.write('y' * 10**6)\n" + ANY + "    return None",
    "huge_return_value": ANY + "    return [0] * 10**7",
    "deeply_nested_return": ANY + "    x = []\n    for _ in range(10000):\n        x = [x]\n    return x",
    "atexit_fake_answer": "import atexit, os\natexit.register(lambda: os.write(1, b'{\"ok\": true}\\n'))\n"
                          + ANY + "    raise SystemExit(0)",
    "json_monkeypatched": "import json\njson.dumps = lambda *a, **k: '{\"ok\": true}'\n"
                          "json.loads = lambda *a, **k: {'call': 'x'}\n" + ANY + "    return None",
    "returns_generator": ANY + "    yield True",
    "returns_function": ANY + "    return lambda *a: True",
    "closes_the_channel": "import os\nfor fd in range(3, 64):\n    try:\n        os.close(fd)\n    except OSError:\n"
                          "        pass\n" + ANY + "    return None",
    "kills_its_parents": "import os, signal\n" + ANY + "    os.kill(os.getppid(), signal.SIGKILL)\n    os.kill(1, signal.SIGKILL)",
    "garbage_on_the_channel": "import os\n" + ANY + "    for fd in range(3, 20):\n        try:\n"
                              "            os.write(fd, b'\\x00\\xff{not json' * 1000 + b'\\n')\n        except OSError:\n"
                              "            pass\n    return None",
}


@pytest.fixture(scope="module")
def verifier():
    v = CodeVerifier({"limits": {"wall_seconds": 4, "cpu_seconds": 3, "memory_mb": 256}, "concurrency": 2})
    yield v
    v.close()


@pytest.fixture(scope="module")
def rows():
    all_rows = humaneval_rows()
    return [all_rows[i] for i in PROBLEMS]


def test_gold_solutions_of_the_problems_score_one(verifier, rows):
    verdicts = verifier.verify_batch(rows, ["```python\n" + r["solution"] + "\n```" for r in rows])
    assert [v.status for v in verdicts] == ["correct"] * len(rows), verdicts


def test_at_least_thirty_hostile_solutions():
    assert len(HOSTILE) >= 30


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_hostile_solution_is_incorrect(verifier, rows, name):
    code = HOSTILE[name]
    completions = ["```python\n" + code.replace("{f}", r["entry_point"]) + "\n```" for r in rows]
    verdicts = verifier.verify_batch(rows, completions)
    for row, verdict in zip(rows, verdicts):
        assert verdict.status == "incorrect" and verdict.score == 0.0 and verdict.reason, (row["task_id"], verdict)
