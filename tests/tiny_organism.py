"""Test helper: the tiny ``tiny-countdown-test`` organism, built once per config into a temporary cache shared by test runs."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

from trainer.prior.config import preset

PRESET = "tiny-countdown-test"


def task_options() -> dict:
    """The task.* options the organism was trained for (compact countdown prompts)."""
    return {k: v for k, v in preset(PRESET).task_options().items() if k != "name"}


def organism_cache() -> Path:
    """A URLVR_CACHE under the temp dir holding the built organism (built here on first use, keyed by its digest)."""
    root = Path(tempfile.gettempdir()) / f"urlvr-test-organism-{preset(PRESET).digest()}"
    env = {**os.environ, "URLVR_CACHE": str(root), "OMP_NUM_THREADS": "1"}
    subprocess.run([sys.executable, "-c", f"from trainer.models import resolve_model; resolve_model({PRESET!r})"],
                   env=env, check=True, capture_output=True, timeout=900)
    return root
