"""The prior-lab experiment: every reward method on an aligned and a misaligned organism, several seeds, two train sizes.

    python examples/prior_sweep.py                      # the full experiment: 7 rewards x 2 priors x 3 seeds x 2 sizes = 84 runs
    python examples/prior_sweep.py --priors aligned --seeds 0 --sizes 128 --max-steps 60   # a subset
    python examples/prior_sweep.py --dry-run            # print the commands only
    python examples/prior_sweep.py --report-only        # redo plots and tables from existing runs
    python examples/prior_sweep.py --report-only --greedy 512   # add greedy accuracy, first and last step

Each run is ``python -m trainer.run model=tiny-countdown[-misaligned] reward=R seed=S task.train_size=N ...`` into
``<root>/<prior>-n<N>/<reward>-seed<S>`` (the ``<method>-seed<N>`` layout that ``python -m trainer.report`` reads).
A finished run (``collapse.json`` present and the final step logged) is skipped, so the sweep can be resumed.
Afterwards ``python -m trainer.report`` writes one report per prior/size group, and ``summary.md`` gathers them.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

from rewards.metric_keys import REWARD, REWARD_ACCURACY, VAL_ACCURACY
from trainer.collapse import CollapseConfig, peak_then_drop
from trainer.demo import ORGANISM_SETTINGS

REWARDS = ("oracle", "self_verify", "self_certainty", "token_entropy", "trajectory_entropy", "probability", "majority_vote")
CONTROLS = ("noisy_oracle",)
"""Reported when present, not run by default: ``--rewards noisy_oracle`` (the oracle at the judge's error rates)."""
REPORTED = REWARDS + CONTROLS
PRIORS = {  # organism presets (trainer/prior/config.py): judge trained on 1,000 own answers, on none, or misaligned
    "aligned": "tiny-countdown",
    "aligned-judge0": "tiny-countdown-judge0",
    "aligned-judge4000": "tiny-countdown-judge4000",
    "misaligned": "tiny-countdown-misaligned",
    "ownjudge0": "tiny-countdown-ownjudge0",  # the judge-data family: judge taught only on its own answers
    "ownjudge1000": "tiny-countdown-ownjudge1000",
    "ownjudge4000": "tiny-countdown-ownjudge4000",
}
SETTINGS = {  # the demo's settings for the organisms, plus what a sweep of many runs wants
    **ORGANISM_SETTINGS,
    "trainer.samples_to_log": 8,
    "trainer.report_to": "[none]",
    "trainer.progress": "false",
    "reward.max_judge_tokens": 56,
}


def _records(run: Path) -> list[dict]:
    """The run's metrics.jsonl by step, read the way ``trainer.report`` reads it (torn tail, resumed steps)."""
    from trainer.report.load import read_metrics

    return read_metrics(run / "metrics.jsonl", warnings=[])


def run_dir(root: Path, prior: str, size: int, reward: str, seed: int) -> Path:
    return root / f"{prior}-n{size}" / f"{reward}-seed{seed}"


def command(prior: str, size: int, reward: str, seed: int, max_steps: int, eval_steps: int, out: Path,
            extra: list[str] = ()) -> list[str]:
    settings = dict(SETTINGS)
    if reward != "self_verify":
        settings.pop("reward.max_judge_tokens")
    settings.update(kv.split("=", 1) for kv in extra)  # later values win; Hydra rejects a key given twice
    args = [f"model={PRIORS[prior]}", f"reward={reward}", f"seed={seed}", f"task.train_size={size}",
            f"trainer.max_steps={max_steps}", f"trainer.eval_steps={eval_steps}", f"run_dir={out}"]
    return [sys.executable, "-m", "trainer.run", *args, *(f"{k}={v}" for k, v in settings.items())]


def finished(out: Path, max_steps: int) -> bool:
    if not (out / "collapse.json").exists():
        return False
    records = _records(out)
    return bool(records) and records[-1]["step"] >= max_steps


def final_checkpoint(run: Path) -> Path | None:
    """The run's last checkpoint folder (``checkpoints/checkpoint-N`` with the largest N), if any."""
    found = [p for p in (run / "checkpoints").glob("checkpoint-*") if p.name.split("-")[-1].isdigit()]
    return max(found, key=lambda p: int(p.name.split("-")[-1]), default=None)


def greedy_eval(model: str, out: Path, prompts: int) -> None:
    """Greedy accuracy of ``model`` on the first ``prompts`` validation rows into ``out`` (``trainer.eval``; kept
    when ``out`` already holds it)."""
    if _greedy(out) is None:
        cmd = [sys.executable, "-m", "trainer.eval", f"model={model}", "task=countdown", "samples=1", "temperature=0",
               f"prompts={prompts}", f"task.val_size={prompts}", f"max_tokens={SETTINGS['trainer.max_completion_length']}",
               "batch=64", f"out={out}"]
        log = out.parent / f"{out.name}.log"
        out.parent.mkdir(parents=True, exist_ok=True)
        with log.open("w") as fh:
            if subprocess.run(cmd, stdout=fh, stderr=subprocess.STDOUT).returncode != 0:
                print(f"prior_sweep: greedy evaluation of {model} failed (see {log})", flush=True)


def greedy_all(root: Path, jobs: list[tuple], prompts: int) -> None:
    """Greedy accuracy at the first and the last step: each prior's initial model once per group, and every
    finished run's final checkpoint (``<run>/greedy``)."""
    for prior, size, reward, seed in jobs:
        group = root / f"{prior}-n{size}"
        if group.is_dir():
            greedy_eval(PRIORS[prior], group / "greedy-initial", prompts)
        run = run_dir(root, prior, size, reward, seed)
        ckpt = final_checkpoint(run)
        if (run / "collapse.json").is_file() and ckpt is not None:
            greedy_eval(str(ckpt), run / "greedy", prompts)


def _greedy(path: Path) -> float | None:
    """The greedy accuracy ``trainer.eval`` left in ``path``, or None when it has not run there."""
    summary = path / "summary.json"
    return json.loads(summary.read_text())["mean@1"] if summary.is_file() else None


def curves_figure(root: Path) -> Path:
    """``curves.png``: validation accuracy and reward accuracy against step, per reward, one column per prior/size group."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    groups = sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("report"))
    fig, axes = plt.subplots(2, len(groups), figsize=(5 * len(groups), 7), squeeze=False, sharey="row")
    for col, group in enumerate(groups):
        for k, reward in enumerate(REPORTED):
            for run in sorted(p for p in group.glob(f"{reward}-seed*") if (p / "metrics.jsonl").is_file()):
                records = _records(run)
                style = {"color": f"C{k}", "alpha": 0.9}
                val = [(r["step"], r[VAL_ACCURACY]) for r in records if r.get(VAL_ACCURACY) is not None]
                acc = [(r["step"], r[REWARD_ACCURACY]) for r in records if r.get(REWARD_ACCURACY) is not None]
                if val:
                    axes[0][col].plot(*zip(*val), marker="o", ms=3, **style)
                if acc:
                    steps, values = zip(*acc)
                    smooth = [sum(values[max(0, i - 9) : i + 1]) / len(values[max(0, i - 9) : i + 1]) for i in range(len(values))]
                    axes[1][col].plot(steps, smooth, **style)
        axes[0][col].set_title(group.name)
        axes[1][col].set_xlabel("step")
    axes[0][0].set_ylabel("validation accuracy (oracle, mean@k)")
    axes[1][0].set_ylabel("reward accuracy vs oracle (10-step mean)")
    from matplotlib.lines import Line2D

    present = {r for group in groups for r in REPORTED if any(group.glob(f"{r}-seed*/metrics.jsonl"))}
    handles = [Line2D([], [], color=f"C{k}", label=r) for k, r in enumerate(REPORTED) if r in present]
    fig.legend(handles=handles, loc="lower center", ncol=min(len(handles), 4) or 1, fontsize=9)
    fig.tight_layout(rect=(0, 0.05, 1, 1))
    out = root / "curves.png"
    fig.savefig(out, dpi=110)
    return out


def _mean(xs: list[float]) -> float:
    return sum(xs) / len(xs) if xs else float("nan")


def _run_figures(records: list[dict]) -> dict[str, float]:
    """One run: validation at step 0, its peak, the mean of the last 3 evaluations; reward accuracy and
    training reward over the first and last 10 steps."""
    val = [(r["step"], r[VAL_ACCURACY]) for r in records if r.get(VAL_ACCURACY) is not None]
    steps = [r for r in records if r.get(REWARD_ACCURACY) is not None]
    col = lambda rows, key: [r[key] for r in rows if r.get(key) is not None]  # noqa: E731
    return {
        "val0": val[0][1] if val else float("nan"),
        "drop": peak_then_drop([v for _, v in val], [t for t, _ in val], CollapseConfig().val_margin)["drop_step"],
        "peak": max(v for _, v in val) if val else float("nan"),
        "last3": _mean([v for _, v in val[-3:]]),
        "acc_first": _mean(col(steps[:10], REWARD_ACCURACY)),
        "acc_last": _mean(col(steps[-10:], REWARD_ACCURACY)),
        "reward_first": _mean(col(steps[:10], REWARD)),
        "reward_last": _mean(col(steps[-10:], REWARD)),
    }


def seed_table(root: Path) -> list[str]:
    """Markdown: one row per prior/size group and reward, each figure as the mean over seeds (with the range)."""
    lines = ["| group | reward | seeds | val acc step 0 | peak | mean of last 3 evals | change (pp) | val drop (step) "
             "| collapsed (step) | reward accuracy first 10 -> last 10 steps | training reward first 10 -> last 10 | greedy first -> last |",
             "|" + "---|" * 12]
    for group in sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("report")):
        for reward in REPORTED:
            runs = sorted(p for p in group.glob(f"{reward}-seed*") if (p / "collapse.json").is_file())
            if not runs:
                continue
            figs = [_run_figures(_records(run)) for run in runs]
            collapses = [json.loads((run / "collapse.json").read_text()).get("collapse_step") for run in runs]
            m = {k: _mean([f[k] for f in figs]) for k in figs[0] if k != "drop"}
            drops = sorted(f["drop"] for f in figs if f["drop"] is not None)
            change = [_change(f) for f in figs]
            fired = [c for c in collapses if c is not None]
            lines.append(
                f"| {group.name} | {reward} | {len(runs)} | {m['val0']:.3f} | {m['peak']:.3f} | {m['last3']:.3f} "
                f"| {_mean(change):+.1f} [{min(change):+.1f}, {max(change):+.1f}] "
                f"| {len(drops)}/{len(runs)}{f' ({drops})' if drops else ''} "
                f"| {len(fired)}/{len(runs)}{f' ({sorted(fired)})' if fired else ''} "
                f"| {m['acc_first']:.2f} -> {m['acc_last']:.2f} | {m['reward_first']:.2f} -> {m['reward_last']:.2f} "
                f"| {_greedy_cell(group, runs)} |")
    return lines


def _change(figs: dict[str, float]) -> float:
    """A run's change in validation accuracy, in pp: the mean of its last 3 evaluations minus step 0."""
    return 100 * (figs["last3"] - figs["val0"])


def _changes(group: Path, reward: str) -> dict[int, float]:
    """Seed -> ``_change`` of each finished run of ``reward`` in the group."""
    out = {}
    for run in group.glob(f"{reward}-seed*"):
        seed = run.name.rsplit("seed", 1)[1]
        if (run / "collapse.json").is_file() and seed.isdigit():
            out[int(seed)] = _change(_run_figures(_records(run)))
    return out


def _greedy_cell(group: Path, runs: list[Path]) -> str:
    """Greedy accuracy of the initial model -> each run's final checkpoint (per seed), or '-' when not measured."""
    first, last = _greedy(group / "greedy-initial"), [_greedy(run / "greedy") for run in runs]
    if first is None or all(v is None for v in last):
        return "-"
    return f"{first:.3f} -> " + " / ".join("-" if v is None else f"{v:.3f}" for v in last)


def paired_table(root: Path) -> list[str]:
    """Markdown: each reward against the oracle on the same seeds (same data, same initial model): the per-seed
    difference of their validation changes, and in how many seeds the reward ended below the oracle."""
    lines = ["| group | reward | seeds paired | its change minus the oracle's, per seed (pp) | mean (pp) "
             "| below the oracle in | the oracle rose in |", "|" + "---|" * 7]
    for group in sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("report")):
        oracle = _changes(group, "oracle")
        for reward in REPORTED[1:]:
            mine = _changes(group, reward)
            seeds = sorted(set(mine) & set(oracle))
            if not seeds:
                continue
            diffs = [mine[s] - oracle[s] for s in seeds]
            per_seed = ", ".join(f"{s}: {d:+.1f}" for s, d in zip(seeds, diffs))
            lines.append(f"| {group.name} | {reward} | {len(seeds)} | {per_seed} | {_mean(diffs):+.1f} "
                         f"| {sum(d < 0 for d in diffs)}/{len(seeds)} | {sum(oracle[s] > 0 for s in seeds)}/{len(seeds)} |")
    return lines


def report(root: Path) -> None:
    """One ``trainer.report`` per prior/size group, ``curves.png``, and a summary.md that collects their tables."""
    parts = ["# Prior-lab sweep: summary", "", f"![curves]({curves_figure(root).name})", "",
             "## Every cell, averaged over seeds", "", *seed_table(root), "",
             "## Each reward against the oracle, seed by seed", "", *paired_table(root), ""]
    for group in sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("report")):
        out = root / f"report-{group.name}"
        proc = subprocess.run([sys.executable, "-m", "trainer.report", str(group), "--out", str(out), "--smooth", "5"],
                              capture_output=True, text=True)
        parts += [f"## {group.name}", "", proc.stdout.strip() or f"(report failed: {proc.stderr.strip()[-500:]})", ""]
    (root / "summary.md").write_text("\n".join(parts) + "\n")
    print(f"prior_sweep: wrote {root / 'summary.md'}")


def run_all(root: Path, jobs: list[tuple], args) -> None:
    """Run every unfinished job, ``args.jobs`` at a time, each logging to ``<run_dir>.log``."""
    threads = args.threads or (1 if args.jobs > 1 else None)
    env = {**os.environ, "PYTHONUNBUFFERED": "1", **({"OMP_NUM_THREADS": str(threads)} if threads else {})}
    pending, running = list(enumerate(jobs, 1)), []
    while pending or running:
        while pending and len(running) < args.jobs:
            i, (prior, size, reward, seed) = pending.pop(0)
            out = run_dir(root, prior, size, reward, seed)
            cmd = command(prior, size, reward, seed, args.max_steps, args.eval_steps, out, args.extra)
            if args.dry_run:
                print(" ".join(cmd))
                continue
            if finished(out, args.max_steps):
                print(f"[{i}/{len(jobs)}] {out} already finished")
                continue
            resume = ["trainer.resume=true"] if (out / "metrics.jsonl").exists() else []
            out.parent.mkdir(parents=True, exist_ok=True)
            log = (out.parent / f"{out.name}.log").open("w")
            running.append((i, out, time.perf_counter(), log, subprocess.Popen(cmd + resume, stdout=log, stderr=subprocess.STDOUT, env=env)))
        for item in list(running):
            i, out, start, log, proc = item
            if proc.poll() is not None:
                log.close()
                running.remove(item)
                print(f"[{i}/{len(jobs)}] {out}: rc={proc.returncode} in {time.perf_counter() - start:.0f} s", flush=True)
        time.sleep(0.5 if running else 0)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--root", default="runs/prior-sweep")
    ap.add_argument("--priors", default="aligned,aligned-judge0,misaligned")
    ap.add_argument("--rewards", default=",".join(REWARDS))
    ap.add_argument("--seeds", default="0,1,2")
    ap.add_argument("--sizes", default="128,2048")
    ap.add_argument("--max-steps", type=int, default=300)
    ap.add_argument("--eval-steps", type=int, default=10)
    ap.add_argument("--jobs", type=int, default=1, help="runs at once; each gets --threads torch threads")
    ap.add_argument("--threads", type=int, default=None, help="OMP/torch threads per run (default: 1 when --jobs > 1)")
    ap.add_argument("--dry-run", action="store_true")
    ap.add_argument("--report-only", action="store_true")
    ap.add_argument("--no-report", action="store_true", help="skip trainer.report at the end")
    ap.add_argument("--greedy", type=int, default=0, metavar="N",
                    help="greedy accuracy on N validation prompts of each initial model and final checkpoint (0: off)")
    ap.add_argument("extra", nargs="*", help="more trainer.run overrides for every run, e.g. trainer.learning_rate=1e-3")
    args = ap.parse_args()
    root = Path(args.root)
    # seed-major: a sweep cut short still covers every prior x size x reward cell with the seeds it finished
    jobs = [(p, int(n), r, int(s)) for s in args.seeds.split(",") for p in args.priors.split(",")
            for n in args.sizes.split(",") for r in args.rewards.split(",")]
    if not args.report_only:
        run_all(root, jobs, args)
    if args.greedy and not args.dry_run:
        greedy_all(root, jobs, args.greedy)
    if not args.dry_run and not args.no_report:
        report(root)


if __name__ == "__main__":
    main()
