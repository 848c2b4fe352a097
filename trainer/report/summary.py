"""Per-run numbers (peak, final, gain, share of the oracle's gain, collapse step) and per-method aggregates.

Gain is the peak validation accuracy minus the initial model's (step 0), in percentage points; the share
divides it by the mean gain of the oracle runs of the same task.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass

from rewards.metric_keys import VAL_ACCURACY
from trainer.collapse import CollapseConfig, peak_then_drop
from trainer.report.load import Run

ORACLE = "oracle"
METHOD_ORDER = ("oracle", "verifier", "self_verify", "majority_vote", "self_certainty", "token_entropy",
                "trajectory_entropy", "probability")
"""Known reward methods in report order; others follow alphabetically."""
COLUMNS = ("Run", "Last step", "Initial val %", "Peak val % (step)", "Final val %", "Gain (pp)",
           "Share of oracle gain", "Steps to peak", "Val drop step", "Collapse step")


@dataclass
class RunSummary:
    """The table numbers of one run; accuracies are fractions, None where the run cannot say."""

    run: Run
    last_step: int | None = None
    initial: float | None = None
    peak: float | None = None
    peak_step: int | None = None
    final: float | None = None
    gain: float | None = None
    share: float | None = None
    steps_to_peak: int | None = None
    drop_step: int | None = None
    collapse_step: int | None = None
    collapsed: bool | None = None


def method_sort_key(method: str) -> tuple[int, str]:
    return (METHOD_ORDER.index(method), "") if method in METHOD_ORDER else (len(METHOD_ORDER), method)


def summarize_run(run: Run) -> RunSummary:
    """Peak/final/initial validation accuracy and the collapse step of one run (share filled in later)."""
    s = RunSummary(run=run, last_step=run.records[-1]["step"] if run.records else None)
    if run.collapse is not None:
        s.collapse_step = run.collapse.get("collapse_step")
        s.collapsed = bool(run.collapse.get("collapsed", s.collapse_step is not None))
    steps, values = run.series(VAL_ACCURACY)
    if not steps:
        if run.records:
            run.warnings.append(f"{run.path}: no '{VAL_ACCURACY}' (oracle validation) in metrics; no accuracy numbers")
        return s
    pk = peak_then_drop(values, steps, CollapseConfig().val_margin)
    s.peak, s.peak_step, s.drop_step = pk["peak_value"], pk["peak_step"], pk["drop_step"]
    s.final = values[-1]
    s.steps_to_peak = s.peak_step - steps[0]
    if steps[0] == 0:
        s.initial = values[0]
        s.gain = s.peak - s.initial
    else:
        run.warnings.append(f"{run.path}: no step-0 validation of the initial model; gain not computed")
    return s


def oracle_gains(summaries: Sequence[RunSummary]) -> dict[str, float]:
    """Mean gain of the oracle runs, per task (tasks without an oracle gain are absent)."""
    by_task: dict[str, list[float]] = {}
    for s in summaries:
        if s.run.method == ORACLE and s.gain is not None:
            by_task.setdefault(s.run.task, []).append(s.gain)
    return {task: statistics.fmean(g) for task, g in by_task.items()}


def fill_shares(summaries: Sequence[RunSummary]) -> list[str]:
    """Set each run's share of the oracle gain of its task; warnings for tasks where it cannot be done."""
    gains = oracle_gains(summaries)
    warnings: list[str] = []
    for task in sorted({s.run.task for s in summaries}):
        if task not in gains:
            warnings.append(f"task '{task}': no oracle run with a validation gain; share of oracle gain not computed")
        elif abs(gains[task]) < 1e-9:
            warnings.append(f"task '{task}': the oracle runs gained nothing; share of oracle gain undefined")
    for s in summaries:
        g = gains.get(s.run.task)
        if s.gain is not None and g is not None and abs(g) >= 1e-9:
            s.share = s.gain / g
    return warnings


def summarize(runs: Sequence[Run]) -> tuple[list[RunSummary], list[str]]:
    """Summaries of all runs, ordered by task, method and seed; plus the cross-run warnings."""
    summaries = [summarize_run(r) for r in runs]
    summaries.sort(key=lambda s: (s.run.task, method_sort_key(s.run.method), s.run.seed is None, s.run.seed or 0,
                                  str(s.run.path)))
    return summaries, fill_shares(summaries)


# --- table cells -------------------------------------------------------------------------------------------


def _pct(x: float | None) -> str:
    return "—" if x is None else f"{100 * x:.1f}"


def _int(x: int | None) -> str:
    return "—" if x is None else str(x)


def _drop_cell(s: RunSummary) -> str:
    if s.peak is None:
        return "—"
    return "none" if s.drop_step is None else str(s.drop_step)


def _collapse_cell(s: RunSummary) -> str:
    if s.collapsed is None:
        return "—"
    if not s.collapsed:
        return "none"
    return f"{s.collapse_step}" + (" (recomputed)" if s.run.collapse_recomputed else "")


def run_row(s: RunSummary) -> list[str]:
    peak = "—" if s.peak is None else f"{_pct(s.peak)} ({s.peak_step})"
    gain = "—" if s.gain is None else f"{100 * s.gain:+.1f}"
    share = "—" if s.share is None else f"{100 * s.share:.0f}%"
    return [s.run.label, _int(s.last_step), _pct(s.initial), peak, _pct(s.final), gain, share,
            _int(s.steps_to_peak), _drop_cell(s), _collapse_cell(s)]


def _mean_std(values: Sequence[float | None], scale: float = 1.0, fmt: str = ".1f", sign: str = "", unit: str = "") -> str:
    xs = [scale * v for v in values if v is not None]
    if not xs:
        return "—"
    mean = format(statistics.fmean(xs), sign + fmt) + unit
    return mean if len(xs) < 2 else f"{mean} ± {format(statistics.stdev(xs), fmt)}{unit}"


def method_row(method: str, group: Sequence[RunSummary]) -> list[str]:
    """The aggregated row of one method's seeds: mean ± sample std of each number."""
    collapsed = [s for s in group if s.collapsed]
    known = [s for s in group if s.collapsed is not None]
    collapse = "—" if not known else f"{len(collapsed)}/{len(known)} runs"
    if collapsed:
        collapse += f", mean {_mean_std([s.collapse_step for s in collapsed], fmt='.0f')}"
    peak = _mean_std([s.peak for s in group], 100)
    if peak != "—":
        peak += f" ({_mean_std([s.peak_step for s in group], fmt='.0f')})"
    dropped = [s for s in group if s.drop_step is not None]
    drop = "—" if all(s.peak is None for s in group) else f"{len(dropped)}/{sum(s.peak is not None for s in group)} runs"
    if dropped:
        drop += f", mean {_mean_std([s.drop_step for s in dropped], fmt='.0f')}"
    return [f"{method} (mean ± std, n={len(group)})", _mean_std([s.last_step for s in group], fmt=".0f"),
            _mean_std([s.initial for s in group], 100), peak, _mean_std([s.final for s in group], 100),
            _mean_std([s.gain for s in group], 100, sign="+"), _mean_std([s.share for s in group], 100, ".0f", unit="%"),
            _mean_std([s.steps_to_peak for s in group], fmt=".0f"), drop, collapse]


def table_rows(summaries: Sequence[RunSummary]) -> list[tuple[bool, list[str]]]:
    """(is_aggregate, cells) rows: each method's runs, then its aggregated row."""
    rows: list[tuple[bool, list[str]]] = []
    groups: dict[str, list[RunSummary]] = {}
    for s in summaries:
        groups.setdefault(s.run.method, []).append(s)
    for method, group in groups.items():
        rows.extend((False, run_row(s)) for s in group)
        rows.append((True, method_row(method, group)))
    return rows


def markdown_table(rows: Sequence[tuple[bool, list[str]]]) -> str:
    """A GitHub-flavoured Markdown table; aggregated rows in bold."""
    lines = ["| " + " | ".join(COLUMNS) + " |", "|" + "|".join(["---"] + ["---:"] * (len(COLUMNS) - 1)) + "|"]
    for agg, cells in rows:
        cells = [f"**{c}**" if agg and c != "—" else c for c in cells]
        lines.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    return "\n".join(lines)
