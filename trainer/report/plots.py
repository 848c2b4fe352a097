"""The report's figures (matplotlib, Agg): seeds as mean ± std bands, one fixed style per reward method.

Every figure function takes the runs of one task and a :class:`Palette` and returns a Figure; nothing
is shown or saved here.
"""

from __future__ import annotations

import io
import statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.lines import Line2D  # noqa: E402
from matplotlib.patches import Patch  # noqa: E402
from matplotlib.ticker import MaxNLocator  # noqa: E402

from rewards.metric_keys import (  # noqa: E402
    ENTROPY,
    LABEL_ACCURACY,
    ORACLE_ACCURACY,
    RESPONSE_LENGTH,
    RESPONSE_LENGTH_TOKENS,
    REWARD,
    REWARD_ACCURACY,
    VAL_ACCURACY,
)
from trainer.collapse import trailing_mean  # noqa: E402
from trainer.report.load import Run  # noqa: E402
from trainer.report.summary import ORACLE, method_sort_key  # noqa: E402

# Okabe-Ito colour-blind-safe colours (yellow left out: unreadable on white), then extras for unknown methods.
KNOWN_STYLES = {
    "oracle": ("#000000", "-"),
    "verifier": ("#0072B2", "--"),
    "self_verify": ("#009E73", "-."),
    "majority_vote": ("#E69F00", (0, (5, 1.5, 1, 1.5, 1, 1.5))),
    "self_certainty": ("#D55E00", ":"),
    "token_entropy": ("#CC79A7", (0, (6, 2))),
    "trajectory_entropy": ("#56B4E9", (0, (1, 1, 3, 1))),
    "probability": ("#8C564B", (0, (8, 2, 1, 2))),
}
EXTRA_COLOURS = ("#7F7F7F", "#BCBD22", "#17BECF", "#9467BD", "#1F77B4", "#2CA02C", "#D62728")
EXTRA_DASHES = ("--", "-.", ":", (0, (6, 2)), (0, (1, 1, 3, 1)))
MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*", "<", ">")
FIG_WIDTH = 11.0
DPI = 110


@dataclass(frozen=True)
class Style:
    colour: str
    dash: object
    marker: str
    width: float


class Palette:
    """One style per reward method for the whole report; the oracle is the black reference line."""

    def __init__(self, methods: Sequence[str]):
        ordered = sorted(set(methods), key=method_sort_key)
        self.methods = ordered
        self.styles: dict[str, Style] = {}
        extra = 0
        for i, m in enumerate(ordered):
            if m in KNOWN_STYLES:
                colour, dash = KNOWN_STYLES[m]
            else:
                colour, dash = EXTRA_COLOURS[extra % len(EXTRA_COLOURS)], EXTRA_DASHES[extra % len(EXTRA_DASHES)]
                extra += 1
            self.styles[m] = Style(colour, dash, MARKERS[i % len(MARKERS)], 2.6 if m == ORACLE else 1.7)

    def __getitem__(self, method: str) -> Style:
        return self.styles[method]


@dataclass
class Band:
    """Mean and sample std over seeds at each step (std 0 where only one seed has the step)."""

    steps: list[int]
    mean: list[float]
    std: list[float]


def band(runs: Sequence[Run], key: str, scale: float = 1.0, smooth: int = 1) -> Band | None:
    """Mean ± std of ``key`` over ``runs`` per step; runs in progress contribute the steps they have."""
    per_step: dict[int, list[float]] = {}
    for run in runs:
        steps, values = run.series(key)
        if smooth > 1:
            values = _smoothed(values, smooth)
        for s, v in zip(steps, values):
            per_step.setdefault(s, []).append(scale * v)
    if not per_step:
        return None
    steps = sorted(per_step)
    return Band(steps, [statistics.fmean(per_step[s]) for s in steps],
                [statistics.stdev(per_step[s]) if len(per_step[s]) > 1 else 0.0 for s in steps])


def _smoothed(values: list[float], window: int) -> list[float]:
    """Trailing mean; the first points (fewer than ``window`` seen) average what there is."""
    full = trailing_mean(values, window)
    return [f if f is not None else sum(values[: i + 1]) / (i + 1) for i, f in enumerate(full)]


def by_method(runs: Sequence[Run]) -> dict[str, list[Run]]:
    groups: dict[str, list[Run]] = {}
    for r in sorted(runs, key=lambda r: method_sort_key(r.method)):
        groups.setdefault(r.method, []).append(r)
    return groups


def _draw(ax, b: Band, style: Style, label: str | None = None) -> None:
    n = len(b.steps)
    ax.plot(b.steps, b.mean, color=style.colour, linestyle=style.dash, linewidth=style.width, label=label,
            marker=style.marker, markersize=4.5, markevery=max(1, n // 8), zorder=3 if style.colour == "#000000" else 2)
    if any(b.std):
        lo = [m - s for m, s in zip(b.mean, b.std)]
        hi = [m + s for m, s in zip(b.mean, b.std)]
        ax.fill_between(b.steps, lo, hi, color=style.colour, alpha=0.12, linewidth=0)


def _method_handles(methods: Sequence[str], palette: Palette, counts: dict[str, int]) -> list[Line2D]:
    return [Line2D([], [], color=palette[m].colour, linestyle=palette[m].dash, linewidth=palette[m].width,
                   marker=palette[m].marker, markersize=4.5,
                   label=f"{m} (reference, n={counts[m]})" if m == ORACLE else f"{m} (n={counts[m]})")
            for m in methods]


def _finish(fig: Figure, handles: Sequence, title: str, ncol: int = 4) -> Figure:
    """Figure title and one shared legend under the panels (so it never hides a curve)."""
    fig.suptitle(title, fontsize=13, fontweight="bold")
    if handles:
        fig.legend(handles=handles, loc="outside lower center", ncol=min(ncol, len(handles)), frameon=False, fontsize=9.5)
    return fig


def _no_data(ax, what: str) -> None:
    ax.text(0.5, 0.5, f"no {what} logged", ha="center", va="center", transform=ax.transAxes, color="#777777")
    ax.set_xticks([])
    ax.set_yticks([])


def _axes(ax, title: str, ylabel: str) -> None:
    ax.set_title(title, fontsize=11)
    ax.set_xlabel("Training step")
    ax.set_ylabel(ylabel)
    ax.grid(True, alpha=0.3)
    ax.xaxis.set_major_locator(MaxNLocator(nbins="auto", integer=True))  # steps are whole numbers


def _min_step_span(ax) -> None:
    """Widen a step axis narrower than 2 steps (a run 1 step old), so integer ticks and points show."""
    lo, hi = ax.get_xlim()
    if hi - lo < 2:
        mid = round((lo + hi) / 2)
        ax.set_xlim(mid - 1, mid + 1)


def _percent_floor(ax, top: float = 10.0) -> None:
    """Keep a percentage axis at least 0-``top`` tall, so an all-zero curve is not drawn on a 0-0.05% scale."""
    lo, hi = ax.get_ylim()
    ax.set_ylim(lo, max(hi, top))


def metric_figure(runs: Sequence[Run], palette: Palette, title: str, panels: Sequence[tuple[str, str, str, float]],
                  smooth: int = 1, decorate: Callable | None = None) -> Figure:
    """One panel per (metric key, panel title, y label, scale); one mean ± std line per method in each."""
    groups = by_method(runs)
    fig, axes = plt.subplots(1, len(panels), figsize=(FIG_WIDTH, 4.8 if len(panels) == 1 else 4.2), squeeze=False,
                             layout="constrained")
    drawn: set[str] = set()
    for ax, (key, panel_title, ylabel, scale) in zip(axes[0], panels):
        _axes(ax, panel_title, ylabel)
        for method, group in groups.items():
            b = band(group, key, scale, smooth if key != VAL_ACCURACY else 1)
            if b is not None:
                _draw(ax, b, palette[method])
                drawn.add(method)
        if not ax.lines:
            _no_data(ax, key)
            continue
        _min_step_span(ax)
        if scale == 100:
            _percent_floor(ax)
        if decorate is not None:
            decorate(ax, key, groups)
    handles = _method_handles([m for m in groups if m in drawn], palette, {m: len(g) for m, g in groups.items()})
    return _finish(fig, handles, title)


def val_accuracy_figure(runs: Sequence[Run], palette: Palette, task: str) -> Figure:
    """Validation accuracy (oracle-scored held-out prompts) per method; the initial model as a dotted line."""

    def initial_line(ax, key, groups):
        starts = [v[0] for r in runs for s, v in [r.series(VAL_ACCURACY)] if s and s[0] == 0]
        if starts:
            ax.axhline(100 * statistics.fmean(starts), color="#888888", linestyle=":", linewidth=1)
            ax.annotate("initial model", (0.995, 100 * statistics.fmean(starts)), xycoords=("axes fraction", "data"),
                        ha="right", textcoords="offset points", xytext=(0, 3), fontsize=8, color="#666666")
        ax.set_ylim(bottom=0)

    return metric_figure(runs, palette, f"Validation accuracy vs step — {task}",
                         [(VAL_ACCURACY, "Held-out prompts scored by the oracle (mean ± std over seeds)", "Accuracy (%)", 100)],
                         decorate=initial_line)


def reward_accuracy_figure(runs: Sequence[Run], palette: Palette, task: str, smooth: int = 1) -> Figure:
    """Reward accuracy (agreement of the training reward with the oracle) with the collapse threshold."""

    def threshold(ax, key, groups):
        ax.axhline(1.0, color="#888888", linestyle=":", linewidth=1)
        ax.annotate("collapse threshold (1%)", (0.99, 1.0), xycoords=("axes fraction", "data"), ha="right",
                    textcoords="offset points", xytext=(0, 3), fontsize=8, color="#666666")
        for method, group in groups.items():
            steps = [r.collapse["collapse_step"] for r in group if r.collapse and r.collapse.get("collapse_step") is not None]
            if steps:
                ax.plot(steps, [-3] * len(steps), linestyle="none", marker="v", color=palette[method].colour,
                        markersize=7, clip_on=False)
        ax.set_ylim(-6, 105)

    sub = "Training reward agrees with the oracle; ▼ = a run's Model Collapse Step"
    return metric_figure(runs, palette, f"Reward accuracy vs step — {task}" + _smooth_note(smooth),
                         [(REWARD_ACCURACY, sub, "Reward accuracy (%)", 100)], smooth, threshold)


def dynamics_figure(runs: Sequence[Run], palette: Palette, task: str, smooth: int = 1) -> Figure:
    """Policy entropy, response length and majority-label accuracy side by side."""
    length_key = RESPONSE_LENGTH_TOKENS if any(r.has(RESPONSE_LENGTH_TOKENS) for r in runs) else RESPONSE_LENGTH
    return metric_figure(runs, palette, f"Policy dynamics — {task}" + _smooth_note(smooth), [
        (ENTROPY, "Token entropy", "Entropy (nats / token)", 1.0),
        (length_key, "Response length", "Length (tokens)", 1.0),
        (LABEL_ACCURACY, "Majority-label accuracy", "Label accuracy (%)", 100),
    ], smooth)


def _smooth_note(smooth: int) -> str:
    return f" (trailing mean of {smooth} steps)" if smooth > 1 else ""


def _bounded(group: Sequence[Run]) -> bool:
    """Whether every training reward lies in [0, 1], i.e. it can share the oracle's accuracy axis."""
    values = [v for r in group for v in r.series(REWARD)[1]]
    return bool(values) and all(-1e-9 <= v <= 1 + 1e-9 for v in values)


def reward_vs_oracle_figure(runs: Sequence[Run], palette: Palette, task: str, smooth: int = 1) -> Figure:
    """Per method: the training reward against the oracle's score of the same rollouts.

    A reward in [0, 1] shares the accuracy axis and the gap is shaded; an unbounded intrinsic reward gets
    its own right-hand axis, where hacking shows as reward rising while the oracle score falls.
    """
    groups = by_method(runs)
    ncol = min(4, max(1, len(groups)))
    nrow = -(-len(groups) // ncol) if groups else 1
    fig, axes = plt.subplots(nrow, ncol, figsize=(FIG_WIDTH, 3.0 * nrow + 1.0), squeeze=False,
                             layout="constrained")
    for ax in axes.flat[len(groups):]:
        ax.set_visible(False)
    for ax, (method, group) in zip(axes.flat, groups.items()):
        style = palette[method]
        _axes(ax, method, "Oracle accuracy (%)")
        ax.title.set_color(style.colour if method != ORACLE else "#000000")
        oracle = band(group, ORACLE_ACCURACY, 100, smooth)
        bounded = _bounded(group)
        reward = band(group, REWARD, 100 if bounded else 1, smooth)
        if oracle is not None:
            ax.plot(oracle.steps, oracle.mean, color="#000000", linestyle="--", linewidth=1.6, marker=".",
                    markevery=max(1, len(oracle.steps) // 8))
        target = ax if bounded else ax.twinx()
        if reward is not None:
            target.plot(reward.steps, reward.mean, color=style.colour, linewidth=1.8, marker=style.marker,
                        markersize=4, markevery=max(1, len(reward.steps) // 8))
            if not bounded:
                target.set_ylabel("Reward (raw units)", color=style.colour)
                target.tick_params(axis="y", colors=style.colour)
        if bounded and reward is not None and oracle is not None:
            common = sorted(set(reward.steps) & set(oracle.steps))
            r = dict(zip(reward.steps, reward.mean))
            o = dict(zip(oracle.steps, oracle.mean))
            ax.fill_between(common, [o[s] for s in common], [r[s] for s in common], color="#D62728", alpha=0.18, linewidth=0)
        if bounded or reward is None:
            ax.set_ylim(-3, 103)
        if not bounded and oracle is not None:
            _percent_floor(ax)
        if oracle is None and reward is None:
            _no_data(ax, "reward or oracle_accuracy")
        else:
            _min_step_span(ax)
    handles = [Line2D([], [], color="#444444", linewidth=1.8, label="training reward (method colour; % or raw units)"),
               Line2D([], [], color="#000000", linestyle="--", linewidth=1.6, label="oracle score of the same rollouts (%)"),
               Patch(color="#D62728", alpha=0.18, label="gap: reward − oracle")]
    return _finish(fig, handles, f"Training reward vs oracle on the same rollouts — {task}" + _smooth_note(smooth), ncol=3)


def png_bytes(fig: Figure) -> bytes:
    """The figure as PNG bytes; the figure is closed."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI, facecolor="white")
    plt.close(fig)
    return buf.getvalue()
