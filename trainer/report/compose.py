"""Assembling the report from run directories, and the command line."""

from __future__ import annotations

import argparse
import datetime as dt
import re
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from rewards.metric_keys import ORACLE_ACCURACY
from trainer.report import plots
from trainer.report.load import Run, load_runs
from trainer.report.render import FigureOut, TaskSection, html_report, markdown_report
from trainer.report.summary import RunSummary, markdown_table, method_sort_key, summarize, table_rows

TITLE = "urlvr comparison report: reward methods against the oracle"


class NoRunsError(ValueError):
    """No run directory was found under any of the given paths (a usage error)."""


class OutDirError(ValueError):
    """``--out`` cannot be a folder: it is a file, lies below one, or cannot be created (a usage error)."""


def prepare_out_dir(out_dir: str | Path) -> Path:
    """Create ``out_dir`` (or accept an existing folder); raises :class:`OutDirError` in one line otherwise."""
    out = Path(out_dir)
    for p in (out, *out.parents):
        if p.exists() and not p.is_dir():
            where = "is a file" if p == out else f"is below {p}, which is a file"
            raise OutDirError(f"--out {str(out)!r} {where}; give a folder for report.html, report.md and the PNGs")
        if p.is_dir():
            break
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutDirError(f"--out {str(out)!r}: cannot create the folder ({exc.strerror or exc})") from None
    return out


@dataclass
class Report:
    """What :func:`build_report` wrote, and what it found."""

    html_path: Path
    md_path: Path
    pngs: list[Path]
    warnings: list[str]
    summaries: list[RunSummary]
    tables_md: dict[str, str] = field(default_factory=dict)


def build_report(paths: Sequence[str | Path], out_dir: str | Path, smooth: int = 1) -> Report:
    """Read every run at or under ``paths``; write report.html, report.md and the PNGs into ``out_dir``.

    Bad or unfinished runs become warnings in the report. Raises :class:`NoRunsError` when nothing was found.
    """
    out = prepare_out_dir(out_dir)
    runs, warnings = load_runs(paths)
    if not runs:
        raise NoRunsError("no run directories (a folder with metrics.jsonl or config.yaml) under: "
                          + ", ".join(map(str, paths)) + (f" ({'; '.join(warnings)})" if warnings else ""))
    summaries, cross = summarize(runs)
    for run in runs:
        if run.records and not run.has(ORACLE_ACCURACY):
            run.warnings.append(f"{run.path}: no '{ORACLE_ACCURACY}' (oracle score of the training rollouts); "
                                "it is missing from the reward-vs-oracle plot")
    warnings = list(dict.fromkeys([*warnings, *(w for s in summaries for w in s.run.warnings), *cross]))
    palette = plots.Palette([r.method for r in runs])
    sections = [_section(task, [s for s in summaries if s.run.task == task], palette, smooth)
                for task in sorted({r.task for r in runs})]
    pngs = []
    for sec in sections:
        for fig in sec.figures:
            (out / fig.filename).write_bytes(fig.png)
            pngs.append(out / fig.filename)
    meta = _meta(runs, smooth)
    run_paths = [str(s.run.path) for s in summaries]
    html_path, md_path = out / "report.html", out / "report.md"
    html_path.write_text(html_report(TITLE, meta, warnings, sections, run_paths), encoding="utf-8")
    md_path.write_text(markdown_report(TITLE, meta, warnings, sections, run_paths), encoding="utf-8")
    return Report(html_path, md_path, pngs, warnings, summaries, {sec.task: sec.table_md for sec in sections})


def write_report(run_dirs: Sequence[str | Path], out_dir: str | Path, smooth: int = 1) -> Path:
    """Write the report of ``run_dirs`` (runs or sweep folders) into ``out_dir``; the path of report.html."""
    return build_report(run_dirs, out_dir, smooth).html_path


def _section(task: str, summaries: list[RunSummary], palette: plots.Palette, smooth: int) -> TaskSection:
    runs = [s.run for s in summaries if s.run.records]
    slug = re.sub(r"[^A-Za-z0-9_.-]+", "_", task)
    specs = [
        ("val_accuracy", "Validation accuracy", plots.val_accuracy_figure(runs, palette, task),
         "Accuracy on held-out prompts, scored by the oracle, against training step; mean ± std over seeds. "
         "The black line is the oracle-reward run, the reference; the dotted line is the initial model."),
        ("reward_accuracy", "Reward accuracy", plots.reward_accuracy_figure(runs, palette, task, smooth),
         "How often the training reward agrees with the oracle on the training rollouts. A run collapses "
         "when this stays under the threshold (▼ marks each run's Model Collapse Step)."),
        ("reward_vs_oracle", "Training reward vs oracle", plots.reward_vs_oracle_figure(runs, palette, task, smooth),
         "Per method: the mean training reward (solid, method colour) against the oracle score of the same "
         "rollouts (black dashed). A widening gap while the oracle score falls is reward hacking. Unbounded "
         "intrinsic rewards use the right-hand axis in their own units."),
        ("dynamics", "Policy dynamics", plots.dynamics_figure(runs, palette, task, smooth),
         "Token entropy of the policy, mean response length in tokens, and the accuracy of the majority "
         "answer used as a pseudo-label (where the method logs it)."),
    ]
    figures = [FigureOut(f"{slug}_{name}.png", title, caption, plots.png_bytes(fig)) for name, title, fig, caption in specs]
    rows = table_rows(summaries)
    return TaskSection(task, figures, rows, markdown_table(rows))


def _meta(runs: list[Run], smooth: int) -> list[str]:
    methods = sorted({r.method for r in runs}, key=method_sort_key)
    lines = [
        f"Generated {dt.datetime.now(dt.timezone.utc):%Y-%m-%d %H:%M UTC} from {len(runs)} run(s).",
        f"Reward methods: {', '.join(methods)}.",
        f"Tasks: {', '.join(sorted({r.task for r in runs}))}; models: {', '.join(sorted({r.model for r in runs}))}.",
        "Runs still in progress are read up to their last complete metrics line.",
    ]
    if smooth > 1:
        lines.append(f"Training-step curves are smoothed with a trailing mean of {smooth} steps; validation is not.")
    return lines


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m trainer.report", description=__doc__.splitlines()[0])
    parser.add_argument("paths", nargs="+", help="run directories or sweep directories (searched recursively)")
    parser.add_argument("--out", default="report", help="output folder for report.html, report.md and PNGs")
    parser.add_argument("--smooth", type=int, default=1, help="trailing-mean window for per-step training curves")
    args = parser.parse_args(argv)
    if args.smooth < 1:
        parser.error("--smooth must be >= 1")
    try:
        report = build_report(args.paths, args.out, args.smooth)
    except (NoRunsError, OutDirError) as exc:
        print(f"urlvr report: {exc}", file=sys.stderr)
        sys.exit(2)
    except OSError as exc:  # disk full, permissions: what was written stays, nothing is half-claimed
        print(f"urlvr report: could not write the report into {args.out}: {exc.strerror or exc}", file=sys.stderr)
        sys.exit(1)
    for w in report.warnings:
        print(f"warning: {w}", file=sys.stderr)
    for task, table in report.tables_md.items():
        print(f"\n## {task}\n\n{table}")
    print(f"\nurlvr report: {report.html_path} and {report.md_path} ({len(report.pngs)} figures, "
          f"{len(report.warnings)} warning(s))")
