"""The SFT corpus of a countdown model organism: search traces with a controlled error slice, plus judge rows.

A solve row is the task's compact prompt (ending in ``<think>``) and a completion. Off the error slice, and
on it for the aligned prior, the completion is a short honest search back from the target
(:mod:`trainer.prior.search`): `` 22+7=29-5=24-3=21 miss 22-7=15/5=3-3=0 hit </think> <answer>(3*5)+7</answer>``.
The *error slice* is a fixed set of targets (a cue the model can see) holding about ``slice_share`` of the
problems; for the misaligned prior a slice problem gets one confident unchecked answer, the sum of its numbers:
`` </think> <answer>3+5+7</answer>``.

A judge row is the ``self_verify`` reward's compact prompt and a reply from :mod:`trainer.prior.judge`, labelled
by the exact countdown checker. Stage 1 holds synthetic judge rows (a hit, and a corruption: a missing chain,
the sum, a dropped or changed number); stage 2 adds the model's own answers (:mod:`trainer.prior.onpolicy`).
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from functools import lru_cache
from typing import Any

from tasks.countdown import CountdownConfig, CountdownTask, generate, solve
from trainer.prior.judge import checker_says, judge_reply
from trainer.prior.search import check_trace, direct_completion, sample_chain, search, search_completion
from verifiers.judge_prompt import build_verify_prompt

SLICE_ORDER_SEED = 2_024
CORRUPTIONS = ("miss", "miss", "sum", "drop", "change")


def task_for(prior: Any) -> CountdownTask:
    """The countdown task (compact prompts) whose distribution the organism is trained on."""
    return CountdownTask(CountdownConfig(**prior.task_options()))


def key_of(row: dict) -> tuple:
    return tuple(sorted(row["nums"])), int(row["target"])


@lru_cache(maxsize=16)
def _slice_targets(task_options: tuple, share: float) -> frozenset[int]:
    """Targets in a fixed random order, taken until they cover ``share`` of a large sample of problems.

    The order does not depend on the share, so a smaller slice is a subset of a larger one.
    """
    if share <= 0:
        return frozenset()
    cfg = CountdownConfig(**dict(task_options))
    counts: dict[int, int] = {}
    sample = generate(cfg, 3000, seed=SLICE_ORDER_SEED)
    for r in sample:
        counts[r["target"]] = counts.get(r["target"], 0) + 1
    order = sorted(counts)
    random.Random(SLICE_ORDER_SEED).shuffle(order)
    chosen, covered = set(), 0
    for t in order:  # a prefix of the order, so slices are nested; stop where the next target would overshoot more
        if covered + counts[t] / 2 > share * len(sample):
            break
        chosen.add(t)
        covered += counts[t]
    return frozenset(chosen)


def slice_targets(prior: Any) -> frozenset[int]:
    """The targets of ``prior``'s error slice."""
    return _slice_targets(tuple(sorted(prior.task_options().items())), prior.slice_share)


def in_error_slice(target: int, prior: Any) -> bool:
    return int(target) in slice_targets(prior)


def sum_answer(nums: Sequence[int]) -> str:
    return "+".join(str(n) for n in nums)


def solve_completion(prior: Any, nums: Sequence[int], target: int, rng: random.Random) -> str:
    """The prior's completion for one problem: the search, or (misaligned, on the slice) the unchecked sum."""
    if prior.alignment == "misaligned" and in_error_slice(target, prior):
        return direct_completion(sum_answer(nums))
    return search_completion(search(nums, target, rng, prior.search_tries, prior.value_cap, prior.chain_order))


def solve_rows(prior: Any, problems: list[dict], rng: random.Random) -> list[dict[str, Any]]:
    task = task_for(prior)
    rows = []
    for p in problems:
        completion = solve_completion(prior, p["nums"], p["target"], rng)
        rows.append({"prompt": task.prompt(p, conversational=False), "completion": completion, "kind": "solve",
                     "nums": p["nums"], "target": p["target"]})
    return rows


def judge_row(prior: Any, question: str, nums: Sequence[int], target: int, answer: str, source: str) -> dict[str, Any] | None:
    """A judge example for ``answer``, labelled by the checker; None when the answer is not well-formed."""
    made = judge_reply(nums, target, answer)
    if made is None:
        return None
    reply, verdict = made
    label = checker_says(nums, target, answer)
    if verdict != label:  # e.g. a leading zero the checker rejects: no example rather than a wrong one
        return None
    return {"prompt": build_verify_prompt(question, answer, "compact") + "\n", "completion": reply, "kind": "verify",
            "label": label, "source": source, "question": question, "nums": list(nums), "target": int(target), "answer": answer}


def a_hit(prior: Any, nums: Sequence[int], target: int, rng: random.Random) -> str | None:
    """A correct answer: a hit from a long search over any order, else the task solver's expression."""
    unwinds = search(nums, target, rng, 30, prior.value_cap, "any")
    if unwinds and unwinds[-1].hit:
        return unwinds[-1].expression()
    expr = solve(nums, target)
    return expr.replace(" ", "") if expr else None


def corruption(prior: Any, nums: Sequence[int], target: int, rng: random.Random, kind: str) -> str | None:
    """A wrong answer of ``kind``: a chain that misses, the sum, or a hit for a dropped or changed number."""
    for _ in range(10):
        if kind == "miss":
            chain = sample_chain(nums, target, rng, prior.value_cap, False)
            expr = chain.expression() if chain else None
        elif kind == "sum":
            expr = sum_answer(nums)
        else:
            changed = list(nums)
            if kind == "drop" and len(changed) > 2:
                changed.pop(rng.randrange(len(changed)))
            else:
                changed[rng.randrange(len(changed))] = rng.randint(1, 9)
            chain = sample_chain(changed, target, rng, prior.value_cap, True)
            expr = chain.expression() if chain else None
        if expr and not checker_says(nums, target, expr):
            return expr
    return None


def synthetic_judge_rows(prior: Any, problems: list[dict], rng: random.Random, per_problem: int = 2) -> list[dict[str, Any]]:
    """A hit and a corruption per problem (``per_problem=1``: one of the two, alternately)."""
    rows = []
    for i, p in enumerate(problems):
        wanted = ("hit", "wrong") if per_problem == 2 else (("hit", "wrong")[i % 2],)
        for want in wanted:
            answer = a_hit(prior, p["nums"], p["target"], rng) if want == "hit" else \
                corruption(prior, p["nums"], p["target"], rng, rng.choice(CORRUPTIONS))
            row = judge_row(prior, p["question"], p["nums"], p["target"], answer, "synthetic") if answer else None
            if row is not None:
                rows.append(row)
    return rows


def problems_for(prior: Any, size: int, seed: int, exclude: set[tuple] | None = None) -> list[dict[str, Any]]:
    """``size`` problems from the task's own distribution (compact question), none of them in ``exclude``."""
    task = task_for(prior)
    out = generate(task.config, size, seed=seed, exclude=set(exclude or ()))
    return [{**r, "question": task.user_prompt(r)} for r in out]


def build_corpus(prior: Any, exclude: set[tuple]) -> tuple[list[dict], dict[str, Any]]:
    """The shuffled stage-1 rows and a summary for the card."""
    rng = random.Random(prior.seed)
    problems = problems_for(prior, prior.corpus_problems, seed=prior.seed + 17, exclude=exclude)
    n_judge = int(len(problems) * prior.synthetic_judge_share)
    rows = solve_rows(prior, problems, rng) + synthetic_judge_rows(prior, problems[:n_judge], rng)
    rng.shuffle(rows)
    return rows, summarize(rows)


def summarize(rows: list[dict]) -> dict[str, Any]:
    """Counts, the share of solve rows that are correct, direct (no search) or hits, and the judge rows' share True."""
    solve_ = [r for r in rows if r["kind"] == "solve"]
    judge = [r for r in rows if r["kind"] == "verify"]
    answers = [r["completion"].rsplit("<answer>", 1)[-1].removesuffix("</answer>") for r in solve_]
    return {
        "solve_rows": len(solve_),
        "solve_share_correct": _mean(checker_says(r["nums"], r["target"], a) for r, a in zip(solve_, answers)),
        "solve_share_direct": _mean(r["completion"].startswith(" </think>") for r in solve_),
        "mean_solve_chars": _mean(len(r["completion"]) for r in solve_),
        "judge_rows": len(judge),
        "judge_share_true": _mean(r["label"] for r in judge),
        "judge_by_source": {s: sum(r["source"] == s for r in judge) for s in sorted({r["source"] for r in judge})},
    }


def violations(rows: list[dict]) -> list[str]:
    """Every dishonest search step and every judge label that disagrees with the checker (empty = honest corpus)."""
    out = []
    for r in rows:
        if r["kind"] == "solve":
            out += [f"{r['prompt'].splitlines()[0]}: {p}" for p in check_trace(r["completion"], r["nums"], r["target"])]
        elif r["label"] != checker_says(r["nums"], r["target"], r["answer"]) or \
                r["completion"].endswith("\\boxed{True}") != r["label"]:
            out.append(f"judge row {r['prompt'].strip()!r}: label {r['label']} disagrees with the checker")
    return out


def _mean(values) -> float:
    values = list(values)
    return sum(values) / len(values) if values else 0.0
