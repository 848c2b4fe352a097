"""Stage-2 judge data from the model's own answers: sample the stage-1 model on fresh problems, label, balance.

Labelling these answers with the exact checker at build time is ground truth used once, like an instruct
model's verification training; the problems are disjoint from the corpus, the card's held-out problems and
the GRPO training and validation splits (``trainer.prior.build.exclusions``).
"""

from __future__ import annotations

import math
import random
from collections import Counter
from typing import Any

from trainer.prior.corpus import a_hit, judge_row, synthetic_judge_rows, task_for
from trainer.prior.judge import error_kind
from trainer.prior.sampling import sample
from verifiers.countdown import last_answer

SAMPLE_FACTOR = 1.25
"""Samples drawn per judge row wanted: enough wrong answers for half the rows, most right ones from the model too."""


def sample_problems_needed(prior: Any) -> int:
    return math.ceil(SAMPLE_FACTOR * prior.judge_rows / prior.judge_samples_per_problem)


def own_answers(model: Any, tokenizer: Any, prior: Any, problems: list[dict]) -> tuple[list[dict], Counter]:
    """Judge rows for every distinct well-formed (problem, answer) the model gave, and the count of each kind."""
    task, k = task_for(prior), prior.judge_samples_per_problem
    prompts = [task.prompt(p, conversational=False) for p in problems]
    kinds: Counter = Counter()
    rows, seen = [], set()
    for i, (_, _, text) in enumerate(sample(model, tokenizer, prompts, k, prior.max_completion_tokens, temperature=1.0)):
        p = problems[i // k]
        kind = error_kind(p["nums"], p["target"], text)
        kinds[kind or "no_answer"] += 1
        if kind is None:
            continue
        answer = last_answer(text).strip()
        if (i // k, answer) in seen:
            continue
        seen.add((i // k, answer))
        row = judge_row(prior, p["question"], p["nums"], p["target"], answer, f"own:{kind}")
        if row is not None:
            rows.append(row)
    return rows, kinds


def stage2_judge_rows(model: Any, tokenizer: Any, prior: Any, problems: list[dict], rng: random.Random) -> tuple[list[dict], dict]:
    """``judge_rows`` rows: half True, half False; own answers first, synthetic hits fill a shortfall of True ones,
    and a ``judge_synthetic_share`` of the rows are synthetic (a hit or a corruption)."""
    own, kinds = own_answers(model, tokenizer, prior, problems)
    n_synth = int(prior.judge_rows * prior.judge_synthetic_share)
    n_own = prior.judge_rows - n_synth
    pos = [r for r in own if r["label"]]
    neg = [r for r in own if not r["label"]]
    rng.shuffle(pos)
    rng.shuffle(neg)
    neg = neg[: n_own // 2]
    pos = pos[: n_own - len(neg)]
    fill = []
    for p in problems:
        if len(pos) + len(fill) >= len(neg):
            break
        answer = a_hit(prior, p["nums"], p["target"], rng)
        row = judge_row(prior, p["question"], p["nums"], p["target"], answer, "synthetic") if answer else None
        if row is not None:
            fill.append(row)
    synthetic = synthetic_judge_rows(prior, rng.sample(problems, min(len(problems), n_synth)), rng, per_problem=1)
    rows = pos + neg + fill + synthetic
    summary = {"samples": sum(kinds.values()), "sample_kinds": dict(kinds), "own_true": len(pos), "own_false": len(neg),
               "synthetic_true_fill": len(fill), "synthetic": len(synthetic), "rows": len(rows),
               "share_true": sum(r["label"] for r in rows) / max(1, len(rows)),
               "own_false_by_kind": dict(Counter(r["source"] for r in neg))}
    return rows, summary
