"""The probe's table (markdown) and plot (AUROC per signal with the 0.5 line; the judge's TPR and TNR)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from trainer.probe_metrics import fmt


def table(record: dict[str, Any]) -> str:
    """One markdown table of everything the probe measured."""
    k, v = record["samples_per_prompt"], record["verdicts"]
    lines = [f"## Prior of {record['model']} on {record['task']['name']}", "",
             f"{record['prompts']} prompts x {k} samples at temperature {record['temperature']}", "",
             "| measure | value |", "|---|---|",
             f"| pass@1 | {fmt(record['pass@1'])} |", *([f"| pass@{k} | {fmt(record[f'pass@{k}'])} |"] if k > 1 else []),
             f"| verdicts (correct/incorrect/error/timeout) | {v['correct']}/{v['incorrect']}/{v['error']}/{v['timeout']} |"]
    lines += [f"| AUROC {name} | {fmt(value)} |" for name, value in record["auroc"].items()]
    judge = record.get("judge")
    if judge is None:
        lines.append("| judge | n/a (not measured, or no judge for this source) |")
    elif "unsupported" in judge:
        lines.append(f"| judge | n/a ({judge['unsupported']}) |")
    else:
        lines += [f"| judge TPR (own correct answers accepted) | {fmt(judge['true_positive_rate'])} |",
                  f"| judge TNR (own wrong answers rejected) | {fmt(judge['true_negative_rate'])} |",
                  f"| judge balanced accuracy (n={judge['n']}) | {fmt(judge['balanced_accuracy'])} |"]
        lines += [f"| judge on {kind} (n={v['n']}) | {fmt(v['rate'])} |" for kind, v in judge["by_kind"].items() if kind != "correct"]
    mcs = record.get("mcs")
    if mcs is not None:
        c = mcs.get("collapse") or {}
        state = (f"collapsed at step {c.get('collapse_step')}" if c.get("collapsed") else f"no collapse in {c.get('steps_seen')} steps") \
            if c else f"failed: {mcs.get('error')}"
        lines.append(f"| Model Collapse Step ({mcs['command'][3]}) | {state} |")
    lines += ["", "AUROC 0.5 = the signal does not tell right from wrong; below 0.5 = confidently wrong."]
    return "\n".join(lines) + "\n"


def plot(record: dict[str, Any], path: Path) -> None:
    """``path``: AUROC bars per signal (n/a drawn empty and labelled) with the 0.5 line, and the judge's TPR/TNR."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4), gridspec_kw={"width_ratios": [3, 1]})
    names = list(record["auroc"])
    values = [record["auroc"][n] for n in names]
    left.bar(names, [0.0 if v is None else v for v in values], color="tab:blue")
    for i, v in enumerate(values):
        left.text(i, (v or 0.0) + 0.02, fmt(v, 2), ha="center", fontsize=8)
    left.axhline(0.5, color="grey", linestyle="--", label="no signal (0.5)")
    left.set(ylim=(0, 1.05), ylabel="AUROC vs oracle correctness", title="confidence signals")
    left.tick_params(axis="x", rotation=30)
    left.legend(loc="upper right", fontsize=8)
    judge = record.get("judge") or {}
    rates = [judge.get("true_positive_rate"), judge.get("true_negative_rate")]
    right.bar(["TPR", "TNR"], [0.0 if r is None else r for r in rates], color=["tab:green", "tab:red"])
    for i, r in enumerate(rates):
        right.text(i, (r or 0.0) + 0.02, fmt(r, 2), ha="center", fontsize=8)
    right.set(ylim=(0, 1.05), title="judge on own answers")
    fig.suptitle(f"{record['model']} on {record['task']['name']}: pass@1 {fmt(record['pass@1'], 2)}", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
