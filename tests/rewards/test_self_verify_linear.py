"""Everything self_verify runs on model text in the trainer process is linear: 1 MB of each hostile shape.

Each case runs once on 1 MB and eight times on 128 KB (the same amount of text), interleaved so both see the
same machine load, best of two rounds. A linear parser takes about as long for both (ratio ~1); a quadratic
one is 8x slower on the 1 MB text (the old verdict regex took 4 s on 16 KB). No wall-clock limit.
"""

import time

import pytest

from rewards.self_verify import SelfVerifyReward, countdown_problem, math_problem
from tasks.countdown import CountdownTask
from verifiers.judge_prompt import answer_injects_verdict, normalize
from verifiers.judge_reply import parse_judgement

SMALL, BIG = 128 * 1024, 1024 * 1024
RATIO = 4

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


def seconds(fn, *texts):
    start = time.perf_counter()
    for text in texts:
        fn(text)
    return time.perf_counter() - start


def assert_linear(fn, shape):
    small, big = shape(SMALL), shape(BIG)
    assert len(big) >= 0.9 * BIG and len(small) * 8 >= 0.9 * len(big)
    t_small, t_big = [], []
    for _ in range(2):
        t_small.append(seconds(fn, *[small] * 8))
        t_big.append(seconds(fn, big))
    ratio = min(t_big) / min(t_small)
    assert ratio <= RATIO, f"1 MB took {ratio:.1f}x as long as 8 x 128 KB ({min(t_big):.3f}s vs {min(t_small):.3f}s)"


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
