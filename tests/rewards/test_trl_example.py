"""``examples/train_with_trl.py``: a plain TRL GRPOTrainer with urlvr rewards trains 2 steps on a tiny organism."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]


def test_example_trains_two_steps_and_logs_urlvr_metrics(tmp_path):
    env = {**os.environ, "URLVR_CACHE": str(tmp_path / "cache"), "OMP_NUM_THREADS": "1"}
    out = tmp_path / "out"
    proc = subprocess.run([sys.executable, str(ROOT / "examples" / "train_with_trl.py"), "--model", "tiny-countdown-test",
                           "--steps", "2", "--out", str(out)], cwd=tmp_path, env=env, capture_output=True, text=True,
                          timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]
    logs = [json.loads(line.replace("'", '"')) for line in proc.stdout.splitlines() if line.startswith("{'loss'")]
    assert len(logs) == 2, proc.stdout[-2000:]
    for record in logs:  # TRL prints each value as a string
        assert "rewards/verifier/mean" in record and "rewards/self_certainty/mean" in record
        outcomes = float(record.get("verifier/incorrect", 0)) + float(record.get("verifier/correct", 0))
        assert outcomes == 8  # the verifier's counters reached TRL's logs: 2 prompts x 4 generations
        assert 0.0 <= float(record["self_certainty/oracle/reward_accuracy"]) <= 1.0  # and the shadow agreement
