"""The README's main job: oracle, self_verify and an intrinsic reward on the tiny countdown organism, then a report.

``python -m trainer.demo [override ...]`` runs a three-run Hydra sweep on ``model=tiny-countdown`` (the aligned
v6 organism: a short search back from the target to solve, one written check to judge; see docs/results.md)
and writes the comparison report beside the runs. Extra overrides apply to every run, e.g. ``trainer.max_steps=50``.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

REWARDS = "oracle,self_verify,token_entropy"
ORGANISM_SETTINGS = {
    "trainer.prompts_per_step": 8, "trainer.num_generations": 8, "trainer.max_completion_length": 160,
    "trainer.learning_rate": 1e-4, "trainer.temperature": 1.0, "trainer.val_prompts": 128, "trainer.val_samples": 2,
    "trainer.save_steps": 1000, "task.val_size": 128, "verifiers.backend": "inprocess",
}
"""The recommended CPU settings for the v6 organisms (docs/results.md; ``examples/prior_sweep.py`` uses them too):
a search of 8 misses is about 145 tokens."""
SETTINGS = ["model=tiny-countdown", "task.train_size=128", "trainer.max_steps=80", "trainer.eval_steps=20",
            *(f"{k}={v}" for k, v in ORGANISM_SETTINGS.items())]


def main(argv: list[str] | None = None) -> int:
    extra = list(sys.argv[1:] if argv is None else argv)
    sweep_dir = Path("runs") / f"demo-{time.strftime('%Y%m%d-%H%M%S')}"
    cmd = [sys.executable, "-m", "trainer.run", "-m", f"reward={REWARDS}", *SETTINGS, *extra, f"hydra.sweep.dir={sweep_dir}"]
    print("urlvr demo:", " ".join(cmd[1:]), flush=True)
    start = time.time()
    if subprocess.run(cmd).returncode != 0:
        print("urlvr demo: the training sweep failed (see above)", file=sys.stderr)
        return 1
    report = subprocess.run([sys.executable, "-m", "trainer.report", str(sweep_dir), "--out", str(sweep_dir / "report")])
    print(f"urlvr demo: done in {(time.time() - start) / 60:.1f} min. Runs: {sweep_dir}/  "
          f"Report: {sweep_dir / 'report' / 'report.html'}", flush=True)
    return report.returncode


if __name__ == "__main__":
    sys.exit(main())
