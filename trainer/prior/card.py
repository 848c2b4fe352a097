"""The organism's card: what was measured on held-out problems from the task's own distribution.

The rates and AUROC are ``trainer.probe_metrics``' (the same code ``trainer.probe`` reports for any model).
Samples are drawn at temperature 1 with the task's compact prompt, exactly as GRPO rollouts are. Confidence is
each sample's intrinsic reward (``rewards.intrinsic``); its AUROC is how well it ranks correct samples above
wrong ones (0.5 = no signal, < 0.5 = confidently wrong). The judge is measured greedily, with the
``self_verify`` prompt, on the model's **own** answers, per error kind (``trainer.prior.judge.ERROR_KINDS``),
and on synthetic hits and corruptions.
"""

from __future__ import annotations

import json
import random
from collections import Counter
from pathlib import Path
from typing import Any

from trainer.prior.corpus import in_error_slice, sum_answer, synthetic_judge_rows, task_for
from trainer.prior.judge import ERROR_KINDS, error_kind
from trainer.prior.sampling import confidence_scores, sample
from trainer.prior.search import check_trace
from trainer.probe_metrics import auroc
from trainer.probe_metrics import judge_rates as probe_judge_rates
from verifiers.countdown import last_answer
from verifiers.judge_prompt import build_verify_prompt
from verifiers.judge_reply import parse_judgement


def judge(model: Any, tokenizer: Any, items: list[tuple[str, str, str]], max_new_tokens: int) -> list[str]:
    """The greedy judge's reply to each (question, answer, kind) item, with the ``self_verify`` compact prompt."""
    prompts = [build_verify_prompt(q, a, "compact") + "\n" for q, a, _ in items]
    return [s[2] for s in sample(model, tokenizer, prompts, 1, max_new_tokens, temperature=0.0)] if prompts else []


def judge_rates(items: list[tuple[str, str, str]], replies: list[str]) -> dict[str, Any]:
    """The judge's rates (``trainer.probe_metrics.judge_rates``) on (question, answer, kind) items from its replies.

    A reply with no clear verdict counts as a rejection, as the ``self_verify`` reward scores it, and its share is
    reported as ``no_verdict``.
    """
    said = [parse_judgement(r, "boxed") for r in replies]
    rates = probe_judge_rates([kind for _, _, kind in items], [v.status == "correct" for v in said])
    for kind in ("correct", *ERROR_KINDS):
        rates["by_kind"].setdefault(kind, {"n": 0, "rate": None})
    no_verdict = sum(v.reason.startswith(("no verdict", "ambiguous")) for v in said)
    return {**rates, "no_verdict": no_verdict / len(said) if said else None}


def measure(model: Any, tokenizer: Any, prior: Any, heldout: list[dict]) -> tuple[dict[str, Any], list[dict]]:
    """The card's metrics on ``heldout`` task rows (compact questions), and one record per sample (what was said)."""
    task, k = task_for(prior), prior.card_samples
    prompts = [task.prompt(r, conversational=False) for r in heldout]
    samples = sample(model, tokenizer, prompts, k, prior.max_completion_tokens, temperature=1.0)
    rows = [heldout[i // k] for i in range(len(samples))]
    kinds = [error_kind(r["nums"], r["target"], s[2]) for r, s in zip(rows, samples)]
    correct = [kind == "correct" for kind in kinds]
    conf = confidence_scores(model, tokenizer, samples, temperature=1.0)
    on_slice = [in_error_slice(r["target"], prior) for r in rows]
    direct_sum = [(last_answer(s[2]) or "").strip() == sum_answer(r["nums"]) and s[2].lstrip().startswith("</think>")
                  for r, s in zip(rows, samples)]
    traced = [(r, s[2]) for r, s in zip(rows, samples) if not s[2].lstrip().startswith("</think>") and "</think>" in s[2]]
    honest = [not check_trace(text, r["nums"], r["target"], prior.value_cap) for r, text in traced]
    own = [(r["question"], last_answer(s[2]).strip(), kind) for r, s, kind in zip(rows, samples, kinds) if kind is not None]
    own_replies = iter(judge(model, tokenizer, own, prior.max_judge_tokens))
    synthetic = [(r["question"], r["answer"], "correct" if r["label"] else "synthetic")
                 for r in synthetic_judge_rows(prior, heldout, random.Random(prior.seed + 5))]
    records = [{"nums": r["nums"], "target": r["target"], "completion": s[2], "kind": kind, "on_slice": sl,
                "judge_reply": next(own_replies) if kind is not None else None}
               for r, s, kind, sl in zip(rows, samples, kinds, on_slice)]
    per_problem = [correct[i * k : (i + 1) * k] for i in range(len(heldout))]
    off_problems = [p for p, r in zip(per_problem, heldout) if not in_error_slice(r["target"], prior)]
    metrics = {
        "heldout_problems": len(heldout),
        "samples_per_problem": k,
        "pass@1": sum(correct) / len(correct),
        f"pass@{k}": sum(any(p) for p in per_problem) / len(per_problem),
        "sample_kinds": dict(Counter(kind or "no_answer" for kind in kinds)),
        "honest_trace_share": sum(honest) / len(honest) if honest else None,
        "mean_completion_tokens": sum(len(s[1]) for s in samples) / len(samples),
        "slice": {
            "targets": sorted(int(t) for t in {r["target"] for r in heldout if in_error_slice(r["target"], prior)}),
            "share_of_samples": sum(on_slice) / len(on_slice),
            "pass@1_on_slice": _share(correct, on_slice),
            "pass@1_off_slice": _share(correct, [not m for m in on_slice]),
            f"pass@{k}_off_slice": sum(any(p) for p in off_problems) / len(off_problems) if off_problems else None,
            "direct_sum_share_on_slice": _share(direct_sum, on_slice),
            "direct_sum_share_off_slice": _share(direct_sum, [not m for m in on_slice]),
        },
        "auroc": {name: auroc(v, correct) for name, v in conf.items()},
        "judge_own_samples": judge_rates(own, [r["judge_reply"] for r in records if r["kind"] is not None]),
        "self_verification": judge_rates(synthetic, judge(model, tokenizer, synthetic, prior.max_judge_tokens)),
    }
    return metrics, records


def _share(values: list[bool], mask: list[bool]) -> float | None:
    picked = [v for v, m in zip(values, mask) if m]
    return sum(picked) / len(picked) if picked else None


def write_card(folder: Path, card: dict[str, Any]) -> None:
    """``card.json`` plus a human-readable ``README.md`` in the model folder."""
    (folder / "card.json").write_text(json.dumps(card, indent=2) + "\n")
    (folder / "README.md").write_text(card_markdown(card))


def card_markdown(card: dict[str, Any]) -> str:
    m, p = card["metrics"], card["prior"]
    k, j, sl = m["samples_per_problem"], m["judge_own_samples"], m["slice"]
    missed = [g for g in card["gates"] if not g["passed"]]
    lines = [
        f"# {card['name']}: a tiny countdown model organism ({p['alignment']} prior)",
        "",
        "**CARD GATES MISSED: " + "; ".join(f"{g['gate']} = {g['value']} (needs {g['need']})" for g in missed) + "**"
        if missed else "Card gates: all passed.",
        "",
        "Built from scratch by `python -m trainer.warmstart` (corpus tokenizer, Llama architecture, two TRL SFT stages).",
        f"Parameters: {card['parameters']:,}; vocabulary {card['vocab_size']} tokens. Build time: {card['build_seconds']:.0f} s "
        f"on {card['cpu_threads']} CPU threads. Config digest `{card['digest']}`.",
        "",
        "## Prior",
        f"- search back from the target: up to {p['search_tries']} unwinds, numbers in order `{p['chain_order']}`, values 0..{p['value_cap']}; "
        f"error slice share {p['slice_share']} (targets {sl['targets']} among the held-out ones), alignment `{p['alignment']}`; "
        f"on-policy judge rows {p['judge_rows']}",
        f"- stage 1: {json.dumps(card['corpus'])}",
        f"- stage 2: {json.dumps(card.get('stage2'))}",
        "",
        f"## Measured on {m['heldout_problems']} held-out problems ({k} samples each, temperature 1)",
        f"- pass@1 {m['pass@1']:.3f}, pass@{k} {m[f'pass@{k}']:.3f}; on / off the slice {_fmt(sl['pass@1_on_slice'])} / "
        f"{_fmt(sl['pass@1_off_slice'])}; unchecked sum answers on / off the slice {_fmt(sl['direct_sum_share_on_slice'])} / "
        f"{_fmt(sl['direct_sum_share_off_slice'])}",
        f"- samples by kind: {json.dumps(m['sample_kinds'])}; traces with honest arithmetic {_fmt(m['honest_trace_share'])}",
        "- confidence-correctness AUROC: " + ", ".join(f"{n} {_fmt(v)}" for n, v in m["auroc"].items()),
        f"- judge on its own samples (n={j['n']}): TPR {_fmt(j['true_positive_rate'])}, TNR {_fmt(j['true_negative_rate'])}, "
        f"balanced {_fmt(j['balanced_accuracy'])}, no verdict {_fmt(j['no_verdict'])}; per kind: "
        + ", ".join(f"{kind} {_fmt(v['rate'])} (n={v['n']})" for kind, v in j["by_kind"].items()),
        f"- judge on synthetic hits/corruptions: TPR {_fmt(m['self_verification']['true_positive_rate'])}, "
        f"TNR {_fmt(m['self_verification']['true_negative_rate'])}",
        "",
        "## Use",
        f"`python -m trainer.run model.name_or_path=<this folder>` with the task options {json.dumps(card['task'])}; "
        "or the presets `model=tiny-countdown` / `model=tiny-countdown-misaligned`, whose yaml sets them.",
        "",
    ]
    return "\n".join(lines)


def _fmt(v: Any) -> str:
    return "n/a" if v is None else f"{v:.3f}"
