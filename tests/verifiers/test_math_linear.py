"""Everything that reads model text for the math task in the trainer process runs in linear time.

Answer extraction and vote keys run for every rollout in shadow scoring, majority vote and self_verify, with no
process boundary around them. Each function meets ~1 MB of each pathological shape and must grow linearly
(see ``tests/linear_time.py``: a ratio against a smaller input in the same run, no wall-clock limit).
"""

from __future__ import annotations

import random
import re
import sys
from pathlib import Path

import pytest

from tasks.math import MathTask, MathTaskConfig
from verifiers.math import extract

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/: the linear_time helper
from linear_time import assert_linear  # noqa: E402


def _repeat(unit: str, prefix: str = "", suffix: str = ""):
    return lambda n: prefix + unit * max(1, (n - len(prefix) - len(suffix)) // len(unit)) + suffix


def _mixed(n: int) -> str:
    tokens = ["\\(", "\\)", "$", "$$", "\\boxed{", "{", "}", "\\", "answer is ", "\n", "The answer is ", "%", "\\text{", " ", "7", "\\frac", ",", "."]
    rng = random.Random(n)
    return "".join(rng.choice(tokens) for _ in range(n // 4))


SHAPES = {
    "answer is + \\( run": _repeat("\\(", "The answer is "),
    "\\( run, one closer at the end": _repeat("\\(", "The answer is ", "x\\)"),
    "unclosed \\boxed{ run": _repeat("\\boxed{"),
    "\\boxed{ + { nesting": _repeat("{", "\\boxed{"),
    "balanced deep nesting": lambda n: "\\boxed{" + "{" * (n // 2) + "1" + "}" * (n // 2) + "}",
    "$ run": _repeat("$", "The answer is "),
    "$a run": _repeat("$a", "The answer is "),
    "answer is, repeated on one line": _repeat("The answer is "),
    "answer is, repeated on lines": _repeat("The answer is\n"),
    "Answer: lines": _repeat("Answer: \\(\n"),
    "backslash run": _repeat("\\", "The answer is "),
    "digit run": _repeat("7", "The answer is "),
    "digits and commas": _repeat("1,", "\\boxed{", "}"),
    "spaces then percent": _repeat(" ", "The answer is 5", "x"),
    "letters (word check)": _repeat("a", "\\boxed{", "1}"),
    "\\boxed with no brace": _repeat("7", "\\boxed "),
    "\\text{ run": _repeat("\\text{", "The answer is "),
    "mixed": _mixed,
}

TASK = MathTask(MathTaskConfig())
FUNCTIONS = {  # task.extract_answer is extract_answer; answer_key runs clean, split_percent, plain_number, string_key
    "extract_answer": extract.extract_answer,
    "answer_line": extract.answer_line,  # extract_answer skips it when a box closes
    "last_boxed": extract.last_boxed,
    "split_percent": extract.split_percent,
    "string_key": extract.string_key,
    "task.answer_key": TASK.answer_key,
}


@pytest.mark.timeout(900)
@pytest.mark.parametrize("shape", SHAPES)
def test_trainer_side_math_text_functions_are_linear(shape):
    make = SHAPES[shape]
    for name, fn in FUNCTIONS.items():
        assert_linear(fn, make), (shape, name)


def test_the_pathological_shapes_still_extract_what_they_say():
    # the shapes are real inputs, not strings every function refuses early
    assert extract.extract_answer(SHAPES["\\( run, one closer at the end"](1000)).endswith("x")
    assert extract.last_boxed(SHAPES["balanced deep nesting"](1000)).strip("{}") == "1"
    assert extract.extract_answer("The answer is \\(" * 3 + "\\(5\\)") is not None
    assert extract.split_percent("  50 " + " " * 1000 + "\\%") == ("  50", True)
    assert extract.string_key("a" * 1000 + "1") == "a" * 1000 + "1"  # not a word: keeps its case


def test_inline_math_scan_matches_the_regex_it_replaces():
    # The old regex is the specification (and fine on short lines); the scan must pick the same last group.
    regex = re.compile(r"\$([^$]+)\$|\\\((.+?)\\\)")
    rng = random.Random(13)
    pieces = ["$", "$$", "a", "\\(", "\\)", "\\", " ", "x", "5"]
    for _ in range(5000):
        line = "".join(rng.choice(pieces) for _ in range(rng.randint(0, 16)))
        found = regex.findall(line)
        assert extract.last_inline_math(line) == ("".join(found[-1]) if found else None), line


def _answer_line_by_lines(text: str) -> str | None:
    """The line-list implementation answer_line replaced (quadratic only through its inline-math regex)."""
    pattern = re.compile(r"(?i)\banswer\b[^:\n]{0,40}?(?:\bis\b|:)\s*(.*)$|^[\s#*]*final answer[\s*:]*()$")
    lines = text.splitlines()
    for n in range(len(lines) - 1, -1, -1):
        match = pattern.search(lines[n])
        if match:
            rest = (match.group(1) or "").strip().strip("*").strip()
            if not rest:
                rest = next((ln.strip() for ln in lines[n + 1 :] if ln.strip()), "")
            inline = extract.last_inline_math(rest)
            return (rest if inline is None else inline).rstrip(". ") or None
    return None


def test_answer_line_matches_the_line_by_line_version_it_replaced():
    rng = random.Random(7)
    pieces = ["answer", "Answer", "ANSWER is", " is ", ":", "\n", "\r\n", "\r", "\u2028", " ", "**", "#", "Final Answer", "42", "$x$", "\\(y\\)", "."]
    for _ in range(5000):
        text = "".join(rng.choice(pieces) for _ in range(rng.randint(0, 14)))
        assert extract.answer_line(text) == _answer_line_by_lines(text), repr(text)
