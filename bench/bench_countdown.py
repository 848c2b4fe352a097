"""Countdown verifier throughput: urlvr's whitelist + precedence-evaluator checker vs a TinyZero-style regex + eval checker.

Both score the same items in one run (40% gold solutions, 30% wrong sums, 15% wrong numbers, 15% prose; no
cache on either side, so repeated items cost the same each time); prints items/s and the ratio.
Target: urlvr >= 1.0x, while safe.
Run: python bench/bench_countdown.py [--items 200000]
"""

from __future__ import annotations

import argparse
import random
import re
import time

from tasks.countdown import CountdownTask
from verifiers.countdown import CountdownVerifier


def tinyzero_score(solution_str: str, target: int, numbers: list[int]) -> float:
    """The widely copied TinyZero countdown reward (regex extraction, then eval). Unsafe: for comparison only."""
    matches = list(re.finditer(r"<answer>(.*?)</answer>", solution_str))
    if not matches:
        return 0.0
    equation = matches[-1].group(1).strip()
    try:
        used = sorted(int(n) for n in re.findall(r"\d+", equation))
        if used != sorted(numbers):
            return 0.0
        if not re.match(r"^[\d+\-*/().\s]+$", equation):
            return 0.0
        result = eval(equation, {"__builtins__": None}, {})  # noqa: S307 - the baseline being compared against
        return 1.0 if abs(float(result) - float(target)) < 1e-5 else 0.1
    except Exception:
        return 0.0


def make_items(n: int, seed: int = 0) -> tuple[list[dict], list[str]]:
    rows = CountdownTask({"train_size": 2000, "val_size": 0, "seed": seed}).rows("train")
    rng = random.Random(seed)
    items, completions = [], []
    for i in range(n):
        row = rows[i % len(rows)]
        kind = rng.random()
        if kind < 0.4:
            body = row["solution"]
        elif kind < 0.7:
            body = " + ".join(str(x) for x in row["nums"])
        elif kind < 0.85:
            body = f"{row['nums'][0]} * {row['target']}"
        else:
            body = "I am not sure"
        completions.append(f"<think>Let me try some combinations of {row['nums']}.</think> <answer>{body}</answer>")
        items.append(row)
    return items, completions


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--items", type=int, default=200_000)
    args = ap.parse_args()
    items, completions = make_items(args.items)
    verifier = CountdownVerifier()

    start = time.perf_counter()
    ours = verifier.verify_batch(items, completions)
    t_ours = time.perf_counter() - start

    start = time.perf_counter()
    theirs = [tinyzero_score(c, it["target"], it["nums"]) for it, c in zip(items, completions)]
    t_theirs = time.perf_counter() - start

    agree = sum((v.status == "correct") == (s == 1.0) for v, s in zip(ours, theirs)) / len(items)
    print(f"items: {len(items)}")
    print(f"urlvr countdown verifier (token whitelist, exact ints/Fractions, Verdicts): {len(items) / t_ours:,.0f} items/s")
    print(f"TinyZero-style regex + eval:                                               {len(items) / t_theirs:,.0f} items/s")
    print(f"ratio urlvr / TinyZero: {t_theirs / t_ours:.2f}x   (target >= 1.0x)")
    print(f"correct/incorrect agreement on these items: {agree:.4f}")


if __name__ == "__main__":
    main()
