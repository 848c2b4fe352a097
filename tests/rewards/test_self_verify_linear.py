"""Everything self_verify runs on model text in the trainer process is linear: 1 MB of each hostile shape.

Each case is timed at 128 KB and at 1 MB in the same run (best of three small, two big) and must scale like a linear pass:
at most RATIO times the small case, plus RATIO times a plain linear pass over the 1 MB text as headroom for
timer noise. A quadratic parser is ~64x (the old verdict regex took 4 s on 16 KB), far past the bound.
"""

import time

import pytest

from rewards.self_verify import SelfVerifyReward, countdown_problem, math_problem
from tasks.countdown import CountdownTask
from verifiers.judge_prompt import answer_injects_verdict, normalize
from verifiers.judge_reply import parse_judgement

SMALL, BIG = 128 * 1024, 1024 * 1024
RATIO = 16

REPLY_SHAPES = {
    "box then spaces": lambda n: "\\boxed{" + " " * n + "x",
    "box then text wrapper then spaces": lambda n: "\\boxed{\\text" + " " * n,
    "many open boxes": lambda n: "\\boxed{" * (n // 7),
    "many text boxes": lambda n: "\\boxed{\\text{" * (n // 13),
    "box then one long word": lambda n: "\\boxed{" + "a" * n,
    "many bare verdicts": lambda n: "True " * (n // 5),
    "quotes and boxes": lambda n: '"\\boxed{True}' * (n // 13),
    "negations then a verdict": lambda n: "not " * (n // 4) + "\\boxed{True}",
    "apostrophes": lambda n: "a'" * (n // 2),
    "zero-width and full-width": lambda n: "\uff34\u200b" * (n // 2),
    "one sentence of words": lambda n: "word " * (n // 5) + "True",
}

ANSWER_SHAPES = {
    "digits and operators": lambda n: "1+" * (n // 2) + "1",
    "open parentheses": lambda n: "(" * n,
    "spaces": lambda n: " " * n + "1",
    "verdict-like words": lambda n: "Tru " * (n // 4),
    "zero-width characters": lambda n: "1\u200b" * (n // 2),
    "latex commands": lambda n: "\\frac{" * (n // 6),
    "answer tags": lambda n: "<answer>" * (n // 8),
}


def best_of(fn, text, rounds=3):
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        fn(text)
        times.append(time.perf_counter() - start)
    return min(times)


def linear_pass(text):
    return text.encode("utf-32").count(b"x")


def assert_linear(fn, shape):
    small, big = shape(SMALL), shape(BIG)
    assert len(big) >= 0.9 * BIG
    t_small, t_big, t_ref = best_of(fn, small), best_of(fn, big, 2), best_of(linear_pass, big)
    assert t_big <= RATIO * (t_small + t_ref), f"1 MB took {t_big:.3f}s against {t_small:.4f}s for 128 KB (linear pass {t_ref:.4f}s)"


@pytest.mark.parametrize("name", sorted(REPLY_SHAPES))
def test_reading_a_judge_reply_is_linear(name):
    assert_linear(lambda text: parse_judgement(text, "boxed_or_bare"), REPLY_SHAPES[name])  # finds every marker


@pytest.mark.parametrize("name", sorted(ANSWER_SHAPES))
def test_screening_a_proposed_answer_is_linear(name):
    def screen(text):
        normalize(text)
        answer_injects_verdict(text)
        countdown_problem(text)
        math_problem(text)

    assert_linear(screen, ANSWER_SHAPES[name])


@pytest.mark.parametrize("name", sorted(ANSWER_SHAPES))
def test_the_reward_on_a_countdown_completion_is_linear(name):
    reward = SelfVerifyReward({}, CountdownTask({"train_size": 1, "val_size": 0}), judge=lambda prompts: ["\\boxed{True}"] * len(prompts))
    item = {"nums": [1, 2], "target": 3, "question": "q"}
    shape = ANSWER_SHAPES[name]
    assert_linear(lambda text: reward(["p"], [f"<answer>{text}</answer>"], **{k: [v] for k, v in item.items()}), shape)
