"""The organism's card: what was measured on held-out problems (pass@1, pass@k, confidence AUROC, self-verification).

Samples are drawn at temperature 1 with the task's compact prompt, exactly as GRPO rollouts are; confidence
is each sample's self-certainty (``rewards.intrinsic.token_stats`` / ``intrinsic_from_stats``) and the AUROC
is how well it ranks correct samples above wrong ones (0.5 = no signal, < 0.5 = confidently wrong).
"""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import torch

from rewards.intrinsic import INTRINSIC_REWARDS, intrinsic_from_stats
from rewards.policy import stack_stats
from trainer.policy_stats import compute_policy_stats
from trainer.prior.corpus import compact, in_error_slice, task_for, wrong_expression
from verifiers.countdown import CountdownVerifier, last_answer
from verifiers.self_verify import build_verify_prompt, parse_judgement


def auroc(scores: list[float], labels: list[bool]) -> float | None:
    """P(score of a random positive > score of a random negative), ties counting 1/2; None without both classes."""
    pos = [s for s, y in zip(scores, labels) if y]
    neg = [s for s, y in zip(scores, labels) if not y]
    if not pos or not neg:
        return None
    ranked = sorted((s, i) for i, s in enumerate(scores))
    ranks = [0.0] * len(scores)
    i = 0
    while i < len(ranked):
        j = i
        while j + 1 < len(ranked) and ranked[j + 1][0] == ranked[i][0]:
            j += 1
        for k in range(i, j + 1):
            ranks[ranked[k][1]] = (i + j) / 2 + 1
        i = j + 1
    pos_rank_sum = sum(r for r, y in zip(ranks, labels) if y)
    return (pos_rank_sum - len(pos) * (len(pos) + 1) / 2) / (len(pos) * len(neg))


@torch.no_grad()
def sample(model: Any, tokenizer: Any, prompts: list[str], n: int, max_new_tokens: int, temperature: float,
           batch: int = 32) -> list[tuple[list[int], list[int], str]]:
    """(prompt ids, completion ids up to and including EOS, text) for ``n`` samples of each prompt, prompt-major."""
    model.eval()
    out = []
    for start in range(0, len(prompts), batch):
        chunk = prompts[start : start + batch]
        enc = tokenizer(chunk, return_tensors="pt", padding=True, padding_side="left", add_special_tokens=False)
        sampling = {"do_sample": True, "temperature": temperature} if temperature > 0 else {"do_sample": False}
        seqs = model.generate(**enc, max_new_tokens=max_new_tokens, num_return_sequences=n,
                              pad_token_id=tokenizer.pad_token_id, eos_token_id=tokenizer.eos_token_id, **sampling)
        width = enc["input_ids"].shape[1]
        for row, seq in enumerate(seqs):
            prompt_ids = [t for t, m in zip(enc["input_ids"][row // n].tolist(), enc["attention_mask"][row // n].tolist()) if m]
            comp = seq[width:].tolist()
            if tokenizer.eos_token_id in comp:
                comp = comp[: comp.index(tokenizer.eos_token_id) + 1]
            out.append((prompt_ids, comp, tokenizer.decode(comp, skip_special_tokens=True)))
    return out


def confidence_scores(model: Any, tokenizer: Any, samples: list[tuple[list[int], list[int], str]], temperature: float) -> dict[str, list[float]]:
    """Each intrinsic reward's value for every sample (higher = more confident)."""
    stats = compute_policy_stats(model, [s[0] for s in samples], [s[1] for s in samples], tokenizer.pad_token_id, temperature, micro_batch=64)
    token, mask = stack_stats(stats)
    return {name: intrinsic_from_stats(name, token, mask, log_space=True).tolist() for name in INTRINSIC_REWARDS}


def judge_accuracy(model: Any, tokenizer: Any, items: list[tuple[str, str, bool]], max_new_tokens: int) -> dict[str, float]:
    """Greedy self-verification of (question, answer, truth) items: accuracy, TPR, TNR, and share of unparsed replies."""
    prompts = [build_verify_prompt(q, a, "compact") + "\n" for q, a, _ in items]
    replies = [s[2] for s in sample(model, tokenizer, prompts, 1, max_new_tokens, temperature=0.0)]
    said = [parse_judgement(r, "boxed_or_bare") for r in replies]
    ok = [(v.status == "correct") == truth for v, (_, _, truth) in zip(said, items)]
    pos = [o for o, (_, _, t) in zip(ok, items) if t]
    neg = [o for o, (_, _, t) in zip(ok, items) if not t]
    return {
        "accuracy": sum(ok) / len(ok) if ok else float("nan"),
        "true_positive_rate": sum(pos) / len(pos) if pos else float("nan"),
        "true_negative_rate": sum(neg) / len(neg) if neg else float("nan"),
        "no_verdict": sum("no verdict" in v.reason or "ambiguous" in v.reason for v in said) / max(1, len(said)),
        "n": len(items),
    }


def measure(model: Any, tokenizer: Any, prior: Any, heldout: list[dict]) -> dict[str, Any]:
    """The card's metrics on ``heldout`` task rows (compact questions)."""
    task, verifier, k = task_for(prior), CountdownVerifier(), prior.card_samples
    prompts = [task.prompt(r, conversational=False) for r in heldout]
    samples = sample(model, tokenizer, prompts, k, prior.max_completion_tokens, temperature=1.0)
    correct = [verifier.verify(heldout[i // k], s[2]).status == "correct" for i, s in enumerate(samples)]
    conf = confidence_scores(model, tokenizer, samples, temperature=1.0)
    slice_mask = [in_error_slice(heldout[i // k]["target"], prior.accuracy) for i in range(len(samples))]
    sums = ["+".join(str(n) for n in heldout[i // k]["nums"]) for i in range(len(samples))]
    answers = [(last_answer(s[2]) or "").strip() for s in samples]
    per_problem = [correct[i * k : (i + 1) * k] for i in range(len(heldout))]
    rng = random.Random(prior.seed + 5)
    items = _judge_items(heldout, rng)
    own = [(heldout[i // k]["question"], a, c) for i, (a, c) in enumerate(zip(answers, correct)) if a][: 4 * len(heldout)]
    return {
        "heldout_problems": len(heldout),
        "samples_per_problem": k,
        "pass@1": sum(correct) / len(correct),
        f"pass@{k}": sum(any(p) for p in per_problem) / len(per_problem),
        "pass@1_error_slice": _share(correct, slice_mask),
        "pass@1_off_slice": _share(correct, [not m for m in slice_mask]),
        "sum_answer_share": sum(a == s for a, s in zip(answers, sums)) / len(answers),
        "answered_share": sum(bool(a) for a in answers) / len(answers),
        "mean_completion_tokens": sum(len(s[1]) for s in samples) / len(samples),
        "auroc": {name: auroc(v, correct) for name, v in conf.items()},
        "self_verification": judge_accuracy(model, tokenizer, items, 48),
        "self_verification_own_samples": judge_accuracy(model, tokenizer, own, 48) if own else None,
    }


def _share(values: list[bool], mask: list[bool]) -> float | None:
    picked = [v for v, m in zip(values, mask) if m]
    return sum(picked) / len(picked) if picked else None


def _judge_items(heldout: list[dict], rng: random.Random) -> list[tuple[str, str, bool]]:
    """One correct (reference) and one corrupted candidate per held-out problem."""
    items = []
    for r in heldout:
        items.append((r["question"], compact(r["solution"]), True))
        wrong = wrong_expression(r["nums"], r["target"], rng, rng.choice(["random", "sum", "ops", "drop", "swap", "bare"]))
        if wrong is not None:
            items.append((r["question"], wrong, False))
    return items


def write_card(folder: Path, card: dict[str, Any]) -> None:
    """``card.json`` plus a human-readable ``README.md`` in the model folder."""
    (folder / "card.json").write_text(json.dumps(card, indent=2) + "\n")
    m, p = card["metrics"], card["prior"]
    k = m["samples_per_problem"]
    lines = [
        f"# {card['name']}: a tiny countdown model organism ({p['alignment']} prior)",
        "",
        "Built from scratch by `python -m trainer.warmstart` (char-level tokenizer, Llama architecture, TRL SFT).",
        f"Parameters: {card['parameters']:,}. Build time: {card['build_seconds']:.0f} s on {card['cpu_threads']} CPU threads.",
        "",
        "## Prior (corpus)",
        f"- accuracy knob {p['accuracy']}, alignment `{p['alignment']}`, verifier_accuracy {p['verifier_accuracy']}",
        f"- corpus: {json.dumps(card['corpus'])}",
        "",
        f"## Measured on {m['heldout_problems']} held-out problems ({k} samples each, temperature 1)",
        f"- pass@1 {m['pass@1']:.3f}, pass@{k} {m[f'pass@{k}']:.3f} (error slice {_fmt(m['pass@1_error_slice'])}, "
        f"off slice {_fmt(m['pass@1_off_slice'])}); answers equal to the sum of all numbers: {m['sum_answer_share']:.3f}",
        "- confidence-correctness AUROC: " + ", ".join(f"{n} {_fmt(v)}" for n, v in m["auroc"].items()),
        f"- self-verification accuracy (reference vs corrupted answers, greedy judge): {_fmt(m['self_verification']['accuracy'])} "
        f"(TPR {_fmt(m['self_verification']['true_positive_rate'])}, TNR {_fmt(m['self_verification']['true_negative_rate'])})",
    ]
    own = m.get("self_verification_own_samples")
    if own:
        lines.append(f"- self-verification accuracy on its own samples: {_fmt(own['accuracy'])} (n={own['n']})")
    lines += ["", "## Use", f"`python -m trainer.run model.name_or_path={card['name']}` with `task.prompt_style=compact` and the "
              f"task ranges {json.dumps(card['task'])}; or the named presets `model=tiny-countdown` / `model=tiny-countdown-misaligned`, "
              "whose yaml sets those task options.", ""]
    (folder / "README.md").write_text("\n".join(lines))


def _fmt(v: Any) -> str:
    return "n/a" if v is None else f"{v:.3f}"
