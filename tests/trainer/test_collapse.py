"""The collapse detector on synthetic reward-accuracy and validation curves."""

from __future__ import annotations

import json
import math
import random

import pytest
from pydantic import ValidationError

from trainer.collapse import (
    CollapseConfig,
    CollapseDetector,
    collapse_from_metrics,
    detect_collapse,
    peak_then_drop,
    trailing_mean,
)


def rise_then_collapse(collapse_at: int = 30, steps: int = 50) -> list[float]:
    """Reward accuracy that climbs to 0.8, then falls to 0 from ``collapse_at`` on."""
    rise = [min(0.8, 0.4 + 0.02 * t) for t in range(collapse_at)]
    return rise + [0.0] * (steps - collapse_at)


def test_trailing_mean_waits_for_a_full_window_and_skips_missing_values():
    assert trailing_mean([1.0, 2.0, None, 3.0, 4.0], 2) == [None, 1.5, None, 2.5, 3.5]


def test_rise_then_collapse_is_detected_after_the_window_fills_with_the_fall():
    series = rise_then_collapse(collapse_at=30)
    assert detect_collapse(series, window=1) == 30  # the paper's raw argmin
    assert detect_collapse(series, window=5) == 34  # trailing mean: lag of window - 1
    assert detect_collapse(series, steps=[10 * t for t in range(50)], window=5) == 340


def test_a_steady_curve_never_collapses():
    rng = random.Random(0)
    assert detect_collapse([0.6 + rng.uniform(-0.1, 0.1) for _ in range(300)]) is None


def test_a_single_noisy_dip_is_smoothed_away_but_would_trip_the_raw_rule():
    series = [0.7] * 20 + [0.0] + [0.7] * 20
    assert detect_collapse(series, window=5) is None
    assert detect_collapse(series, window=1) == 20


def test_a_run_that_starts_collapsed_collapses_at_once_unless_it_must_rise_first():
    series = [0.0] * 10 + [0.5] * 10 + [0.0] * 10
    assert detect_collapse(series, window=3) == 2
    assert detect_collapse(series, window=3, require_above=True) == 22


def test_missing_and_nan_values_are_skipped():
    series = [0.5, None, math.nan, 0.5, 0.0, "n/a", 0.0, 0.0]
    assert detect_collapse(series, window=3) == 7


def test_peak_then_drop():
    val = [0.30, 0.40, 0.52, 0.50, 0.49, 0.41, 0.20]
    got = peak_then_drop(val, steps=[0, 20, 40, 60, 80, 100, 120], margin=0.05)
    assert got == {"peak_step": 40, "peak_value": 0.52, "drop_step": 100, "drop_value": 0.41}
    assert peak_then_drop([0.3, 0.5, 0.48], margin=0.05)["drop_step"] is None
    assert peak_then_drop([0.5, 0.2, 0.5], margin=0.05)["peak_step"] == 0  # the first maximum
    assert peak_then_drop([None, None])["peak_step"] is None


def test_detector_stops_at_the_collapse_and_writes_its_evidence():
    detector = CollapseDetector({"window": 5, "evidence_radius": 2})
    flags = []
    for step, value in enumerate(rise_then_collapse(collapse_at=30)):
        metrics = {"reward_accuracy": value}
        if step % 10 == 0:
            metrics["val/accuracy"] = [0.3, 0.45, 0.5, 0.35, 0.1][step // 10]
        flags.append(detector.update(step, metrics))
    assert flags.index(True) == 34 and all(flags[34:])
    record = json.loads(json.dumps(detector.to_json()))  # JSON-serialisable as is
    assert record["collapse_step"] == 34 and record["onset_step"] == 30
    assert (record["threshold"], record["window"], record["metric"]) == (0.01, 5, "reward_accuracy")
    assert [e["step"] for e in record["evidence"]] == [32, 33, 34, 35, 36]
    assert record["evidence"][2]["smoothed"] == 0.0 and record["evidence"][1]["smoothed"] > 0.01
    val = record["validation"]
    assert (val["peak_step"], val["drop_step"]) == (20, 30)


def test_detector_without_collapse_keeps_the_last_points():
    detector = CollapseDetector(CollapseConfig(evidence_radius=1))
    for step in range(10):
        assert detector.update(step, {"reward_accuracy": 0.5}) is False
    record = detector.to_json()
    assert record["collapsed"] is False and record["collapse_step"] is None
    assert [e["step"] for e in record["evidence"]] == [8, 9]


def test_steps_without_the_metric_are_not_counted():
    detector = CollapseDetector({"window": 2})
    detector.update(0, {"loss": 1.0})
    detector.update(1, {"reward_accuracy": None})
    detector.update(2, {"reward_accuracy": 0.0})
    assert detector.update(3, {"reward_accuracy": 0.0}) is True
    assert detector.to_json()["steps_seen"] == 2


def test_offline_replay_gives_the_online_answer():
    records = [{"step": s, "reward_accuracy": v} for s, v in enumerate(rise_then_collapse(collapse_at=12, steps=20))]
    assert collapse_from_metrics(records)["collapse_step"] == 16


def test_config_is_validated():
    with pytest.raises(ValidationError):
        CollapseConfig(window=0)
    with pytest.raises(ValidationError):
        CollapseDetector({"treshold": 0.1})
