"""Countdown verifier: gold tables and hostile inputs (each answered in under 10 ms)."""

import pickle
import time

import pytest

from verifiers.countdown import CountdownVerifier, parse_expression

V = CountdownVerifier()
ITEM = {"nums": [3, 5, 7, 10], "target": 22}


def ans(expr: str) -> str:
    return f"<think>let me try</think><answer>{expr}</answer>"


# (completion, expected status, fragment of the reason)
GOLD = [
    (ans("(10 - 7) * 5 + 7 - 7 + 3 - 3"), "incorrect", "uses"),
    (ans("3 * 5 + 7 + 10 - 10"), "incorrect", "uses"),
    (ans("(7 - 5) * 10 + 3 - 1"), "incorrect", "uses"),
    (ans("10 + 7 + 5"), "incorrect", "does not use [3]"),
    (ans("5 * 3 + 7 * (10 / 10)"), "incorrect", "uses"),
    (ans("(10 + 7 + 5) * 3 / 3"), "incorrect", "uses"),
    (ans("10 * 3 - 5 - 7 + 4"), "incorrect", "uses [4]"),
    (ans("10 + 7 + 5 * 3"), "incorrect", "equals 32"),
    (ans("(10 - 7 + 5) * 3 - 2"), "incorrect", "uses [2]"),
    (ans("10 * (7 - 5) + 3"), "incorrect", "equals 23"),
    (ans("(7 - 3) * 5 + 10 / 5"), "incorrect", "uses"),
    (ans("10 / (5 - 5) + 3 + 7"), "incorrect", "uses"),
    (ans("5 * 7 - 10 - 3"), "correct", "= 22"),
    (ans(" 5*7-10-3 "), "correct", "= 22"),
    (ans("(5 * 7) - (10 + 3)"), "correct", "= 22"),
    (ans("5 * 7 - 10 - 3 = 22"), "correct", "= 22"),
    (ans("5 * 7 - 10 - 3 = 23"), "incorrect", "not the claimed 23"),
    (ans("7 * 5 - 3 - 10") + " and later text", "correct", "= 22"),
    ("<answer>1+1</answer> ... <answer>5 * 7 - 10 - 3</answer>", "correct", "= 22"),
    ("<answer>5 * 7 - 10 - 3</answer> ... <answer>1+1</answer>", "incorrect", "does not use"),
    ("no tags at all: 5 * 7 - 10 - 3", "incorrect", "no <answer>"),
    ("<answer>5 * 7 - 10 - 3", "incorrect", "no <answer>"),
    (ans(""), "incorrect", "empty"),
    (ans("   "), "incorrect", "empty"),
    (ans("-5 * -7 + 10 + 3"), "incorrect", "unary"),
    (ans("5 ** 7 - 10 - 3"), "incorrect", "operator Pow is not allowed"),
    (ans("5 // 7 - 10 - 3"), "incorrect", "operator FloorDiv is not allowed"),
    (ans("5.0 * 7 - 10 - 3"), "incorrect", "uses [0]"),
    (ans("__import__('os')"), "incorrect", "not allowed"),
    (ans("5 * 7 - 10 - 3; 1"), "incorrect", "not allowed"),
    (ans("(5 * 7 - 10 - 3"), "incorrect", "not a valid expression"),
    (ans("3 / (10 - 10) + 5 * 7"), "incorrect", "uses"),
]


@pytest.mark.parametrize("completion,status,reason", GOLD)
def test_gold_table(completion, status, reason):
    verdict = V.verify(ITEM, completion)
    assert verdict.status == status, verdict
    assert reason in verdict.reason
    assert verdict.score == (1.0 if status == "correct" else 0.0)


def test_division_by_zero_is_incorrect_with_reason():
    verdict = V.verify({"nums": [4, 4, 2], "target": 1}, ans("2 / (4 - 4)"))
    assert verdict.status == "incorrect" and "divides by zero" in verdict.reason


def test_exact_rational_arithmetic():
    # 1/3 * 3 is exactly 1 with fractions (floats would give 0.999...)
    assert V.verify({"nums": [1, 3, 3], "target": 1}, ans("1 / 3 * 3")).status == "correct"
    assert V.verify({"nums": [7, 2, 1], "target": 3}, ans("7 / 2 - 1")).status == "incorrect"  # 5/2, not 3


def test_each_number_exactly_once_with_repeats_in_the_input():
    item = {"nums": [5, 5, 2], "target": 12}
    assert V.verify(item, ans("5 + 5 + 2")).status == "correct"
    assert V.verify(item, ans("5 + 5 + 2 + 0")).status == "incorrect"
    assert V.verify(item, ans("5 * 2 + 2")).status == "incorrect"


def test_format_score_for_well_formed_wrong_answers():
    v = CountdownVerifier({"format_score": 0.1})
    assert v.verify(ITEM, ans("10 + 7 + 5 * 3")).score == 0.1
    assert v.verify(ITEM, "no answer").score == 0.0
    assert v.verify(ITEM, ans("5 * 7 - 10 - 3")).score == 1.0


def test_bad_item_raises_clear_error():
    with pytest.raises(ValueError, match="missing field 'target'"):
        V.verify({"nums": [1, 2]}, ans("1 + 2"))


HOSTILE = {
    "power tower": ans("9**9**9**9**9"),
    "10k nested parentheses": ans("(" * 10_000 + "1" + ")" * 10_000),
    "10k-digit literal": ans("1" * 10_000),
    "unicode digits": ans("５ * ７ - １０ - ３"),
    "arabic-indic digits": ans("٥ * ٧ - ١٠ - ٣"),
    "many answer tags": "<answer>1</answer>" * 100_000,
    "many open tags": "<answer>" * 100_000,
    "reused numbers": ans("5 * 5 * 5 * 5 - 3"),
    "empty tags": "<answer></answer>",
    "1 MB of text": "x" * 1_000_000 + ans("5 * 7 - 10 - 3"),
    "deep but short": ans("((((((((((((((((((((((((((((((((((((((1))))))))))))))))))))))))))))))))))))))"),
    "long chain": ans("+".join(["1"] * 99)),
    "null bytes": ans("5\x00*7"),
    "lambda": ans("(lambda: 1)()"),
    "attribute": ans("(1).__class__"),
}


@pytest.mark.parametrize("name", list(HOSTILE))
def test_hostile_inputs_answered_fast(name):
    start = time.perf_counter()
    verdict = V.verify(ITEM, HOSTILE[name])
    elapsed = time.perf_counter() - start
    assert verdict.status in ("incorrect", "correct")
    assert verdict.reason
    assert elapsed < 0.010, f"{name} took {elapsed * 1000:.1f} ms"


def test_gold_correct_only_for_the_legit_case_among_hostile():
    assert V.verify(ITEM, HOSTILE["1 MB of text"]).status == "correct"
    assert V.verify(ITEM, HOSTILE["power tower"]).status == "incorrect"


def test_parse_expression_returns_value_and_literals():
    value, used = parse_expression("(1 + 2) * 3")
    assert value == 9 and used == [1, 2, 3]


def test_verifier_and_verdicts_pickle():
    v2 = pickle.loads(pickle.dumps(CountdownVerifier({"format_score": 0.1})))
    assert v2.config.format_score == 0.1
    verdict = v2.verify(ITEM, ans("5 * 7 - 10 - 3"))
    assert pickle.loads(pickle.dumps(verdict)) == verdict


def test_examples_are_gold():
    for item, completion in CountdownVerifier.examples():
        assert V.verify(item, completion).status == "correct"


def _reference_value(node):
    """Exact value of a trusted, test-generated Python expression tree (the evaluator's differential oracle)."""
    import ast
    from fractions import Fraction

    if isinstance(node, ast.Constant):
        return Fraction(node.value)
    if not isinstance(node, ast.BinOp):
        raise ValueError(type(node).__name__)  # unary minus, a call like (1)(2), ...
    a, b = _reference_value(node.left), _reference_value(node.right)
    ops = {ast.Add: lambda: a + b, ast.Sub: lambda: a - b, ast.Mult: lambda: a * b, ast.Div: lambda: a / b}
    if type(node.op) not in ops:
        raise ValueError(type(node.op).__name__)  # ** and //
    return ops[type(node.op)]()


def test_evaluator_agrees_with_pythons_grammar_on_random_token_soup():
    """Differential test: on 20k random strings of digits, + - * / and parentheses, the precedence evaluator
    accepts exactly the strings Python parses as binary +-*/ over integers, with the same exact value."""
    import ast
    import random

    from verifiers.countdown import ExpressionError, evaluate_tokens, _TOKENS

    rng = random.Random(7)
    alphabet = ["1", "2", "7", "12", "0", "+", "-", "*", "/", "(", ")", " "]
    accepted = 0
    for _ in range(20_000):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(1, 12)))
        try:
            expected = _reference_value(ast.parse(text.strip(), mode="eval").body)  # parse_expression strips too
        except (SyntaxError, ValueError, ZeroDivisionError, TypeError):
            expected = None  # not binary integer arithmetic, or divides by zero
        try:
            got = evaluate_tokens(_TOKENS.findall(text))[0]
        except (ExpressionError, ZeroDivisionError):
            got = None
        assert got == expected, (text, got, expected)
        accepted += got is not None
    assert accepted > 1000  # the soup exercises the accepting paths too
