"""The Model Collapse Step and the validation curve's peak-then-drop, online and offline.

He et al. (arXiv 2603.08660) define the Model Collapse Step as the first training step at which reward
accuracy falls below 1%: the reward then almost never agrees with the oracle. Per-step reward accuracy
is noisy (a few dozen rollouts), so here the test runs on its trailing mean over ``window`` logged
values; ``window=1`` is the paper's raw definition. Like the paper, a run that starts below the
threshold collapses at once (a weak prior); ``require_above=True`` instead waits until the smoothed
value has first been at or above the threshold.

The trailing mean lags: a sharp fall is detected up to ``window - 1`` steps late. ``onset_step`` in the
evidence names the first step of the run of raw values below the threshold that ended in detection.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from rewards.metric_keys import REWARD_ACCURACY, VAL_ACCURACY


class CollapseConfig(BaseModel):
    """How collapse and the validation drop are detected."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    metric: str = Field(default=REWARD_ACCURACY, description="Metrics key of the per-step reward accuracy.")
    threshold: float = Field(default=0.01, ge=0.0, le=1.0, description="Collapse when the smoothed metric is below this.")
    window: int = Field(default=5, ge=1, description="Trailing-mean window, in logged values; 1 = raw.")
    require_above: bool = Field(default=False, description="Only detect after the smoothed metric was once >= threshold.")
    val_metric: str = Field(default=VAL_ACCURACY, description="Metrics key of validation accuracy.")
    val_margin: float = Field(default=0.05, ge=0.0, description="A drop is val accuracy below peak - margin (absolute).")
    evidence_radius: int = Field(default=5, ge=0, description="Points kept either side of the detection in the evidence.")


def _value(x: Any) -> float | None:
    """A finite float, or None for a missing/None/NaN/non-numeric metric."""
    if isinstance(x, bool) or not isinstance(x, numbers.Real) or not math.isfinite(x):
        return None
    return float(x)


def trailing_mean(values: Sequence[float | None], window: int) -> list[float | None]:
    """Mean of the last ``window`` non-None values at each position; None until ``window`` have been seen."""
    out: list[float | None] = []
    seen: list[float] = []
    for v in values:
        if v is not None:
            seen.append(v)
        out.append(sum(seen[-window:]) / window if len(seen) >= window and v is not None else None)
    return out


def _collapse_index(smoothed: Sequence[float | None], threshold: float, require_above: bool) -> int | None:
    armed = not require_above
    for i, s in enumerate(smoothed):
        if s is None:
            continue
        if s < threshold and armed:
            return i
        armed = armed or s >= threshold
    return None


def _onset_index(values: Sequence[float | None], end: int, threshold: float) -> int:
    """First index of the run of logged values below ``threshold`` that ends at ``end`` (missing values are skipped)."""
    start = end
    for i in range(end, -1, -1):
        if values[i] is None:
            continue
        if values[i] >= threshold:
            break
        start = i
    return start


def detect_collapse(
    values: Sequence[Any],
    steps: Sequence[int] | None = None,
    threshold: float = 0.01,
    window: int = 5,
    require_above: bool = False,
) -> int | None:
    """The Model Collapse Step of a reward-accuracy series: the first step whose trailing mean is < ``threshold``.

    ``values`` may hold None/NaN for steps without a measurement; ``steps`` defaults to 0, 1, 2, ...
    Returns None when the series never collapses.
    """
    clean = [_value(v) for v in values]
    steps = list(range(len(clean))) if steps is None else list(steps)
    i = _collapse_index(trailing_mean(clean, window), threshold, require_above)
    return None if i is None else steps[i]


def peak_then_drop(values: Sequence[Any], steps: Sequence[int] | None = None, margin: float = 0.05) -> dict[str, Any]:
    """The peak of a validation curve and the first later step where it is more than ``margin`` below the peak.

    The peak is the first occurrence of the maximum. Returns ``peak_step``, ``peak_value``, ``drop_step`` and
    ``drop_value`` (the drop fields are None when the curve never falls that far after its peak).
    """
    clean = [_value(v) for v in values]
    steps = list(range(len(clean))) if steps is None else list(steps)
    present = [i for i, v in enumerate(clean) if v is not None]
    out: dict[str, Any] = {"peak_step": None, "peak_value": None, "drop_step": None, "drop_value": None}
    if not present:
        return out
    peak = max(present, key=lambda i: (clean[i], -i))
    out.update(peak_step=steps[peak], peak_value=clean[peak])
    for i in present:
        if i > peak and clean[i] < clean[peak] - margin:
            out.update(drop_step=steps[i], drop_value=clean[i])
            break
    return out


class CollapseDetector:
    """Fed each step's metrics; says when reward accuracy has collapsed and keeps the evidence for ``collapse.json``.

    >>> d = CollapseDetector(CollapseConfig(window=1))
    >>> d.update(0, {"reward_accuracy": 0.6}), d.update(1, {"reward_accuracy": 0.0})
    (False, True)
    """

    def __init__(self, config: CollapseConfig | Mapping[str, Any] | None = None):
        self.config = config if isinstance(config, CollapseConfig) else CollapseConfig.model_validate(dict(config or {}))
        self._steps: list[int] = []
        self._values: list[float | None] = []
        self._val_steps: list[int] = []
        self._val_values: list[float] = []
        self.collapse_step: int | None = None

    @property
    def collapsed(self) -> bool:
        return self.collapse_step is not None

    def update(self, step: int, metrics: Mapping[str, Any]) -> bool:
        """Record one step; True once collapse has been detected (at this step or before).

        A step without the reward-accuracy metric (or with None/NaN) still records validation accuracy.
        """
        cfg = self.config
        val = _value(metrics.get(cfg.val_metric))
        if val is not None:
            self._val_steps.append(step)
            self._val_values.append(val)
        value = _value(metrics.get(cfg.metric))
        if value is None:
            return self.collapsed
        self._steps.append(step)
        self._values.append(value)
        if not self.collapsed:
            self.collapse_step = detect_collapse(self._values, self._steps, cfg.threshold, cfg.window, cfg.require_above)
        return self.collapsed

    def to_json(self) -> dict[str, Any]:
        """The record written to ``collapse.json``: the steps, how they were found, and the series around them."""
        cfg = self.config
        smoothed = trailing_mean(self._values, cfg.window)
        idx = self._steps.index(self.collapse_step) if self.collapsed else None
        return {
            "collapsed": self.collapsed,
            "collapse_step": self.collapse_step,
            "onset_step": None if idx is None else self._steps[_onset_index(self._values, idx, cfg.threshold)],
            "definition": "first step whose trailing mean of the metric over `window` values is below `threshold`",
            "metric": cfg.metric,
            "threshold": cfg.threshold,
            "window": cfg.window,
            "require_above": cfg.require_above,
            "steps_seen": len(self._steps),
            "last_step": self._steps[-1] if self._steps else None,
            "evidence": self._evidence(smoothed, idx),
            "validation": {
                "metric": cfg.val_metric,
                "margin": cfg.val_margin,
                **peak_then_drop(self._val_values, self._val_steps, cfg.val_margin),
            },
        }

    def _evidence(self, smoothed: list[float | None], idx: int | None) -> list[dict[str, Any]]:
        """The raw and smoothed series around the detection (the last points when there was none)."""
        r = self.config.evidence_radius
        lo, hi = (len(self._steps) - r - 1, len(self._steps)) if idx is None else (idx - r, idx + r + 1)
        return [
            {"step": self._steps[i], "value": self._values[i], "smoothed": smoothed[i]}
            for i in range(max(lo, 0), min(hi, len(self._steps)))
        ]


def collapse_from_metrics(records: Iterable[Mapping[str, Any]], config: CollapseConfig | None = None) -> dict[str, Any]:
    """Replay ``metrics.jsonl`` records (dicts with a ``step`` key) through a detector; its ``to_json()``.

    Used by reports on finished runs, so the offline answer is the one the run itself would have given.
    """
    detector = CollapseDetector(config)
    for i, record in enumerate(records):
        detector.update(int(record.get("step", i)), record)
    return detector.to_json()
