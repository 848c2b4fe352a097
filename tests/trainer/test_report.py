"""The comparison report on SYNTHETIC run directories (tests/synthetic_runs.py): numbers, robustness, CLI, plots."""

from __future__ import annotations

import base64
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from trainer.collapse import collapse_from_metrics
from trainer.report import NoRunsError, OutDirError, build_report, write_report
from trainer.report import plots
from trainer.report.load import find_run_dirs, load_run, load_runs
from trainer.report.summary import summarize
from tests.synthetic_runs import METHODS, write_synthetic_run, write_synthetic_sweep

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def sweep(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("sweep") / "sweep-20260101-000000"
    write_synthetic_sweep(root, steps=50)
    return root


@pytest.fixture(scope="module")
def sweep_runs(sweep):
    runs, warnings = load_runs([sweep])
    assert warnings == []
    return runs


def write_run(path: Path, method: str | None, seed: int, lines: list, task: str = "countdown") -> Path:
    """A hand-written run directory; ``lines`` are dicts (JSON-encoded) or raw strings written as they are."""
    path.mkdir(parents=True, exist_ok=True)
    if method is not None:
        config = {"task": {"name": task}, "reward": {"name": method}, "seed": seed, "model": {"name_or_path": "m"}}
        (path / "config.yaml").write_text(yaml.safe_dump(config))
    (path / "metrics.jsonl").write_text("".join(x if isinstance(x, str) else json.dumps(x) + "\n" for x in lines))
    return path


def val_lines(values: dict[int, float], **extra) -> list[dict]:
    return [{"step": s, "val/accuracy": v, **({} if s == 0 else extra)} for s, v in values.items()]


# --- discovery and grouping ----------------------------------------------------------------------------------


def test_a_sweep_folder_is_searched_recursively_and_runs_grouped_by_method_and_seed(sweep, sweep_runs):
    dirs, _ = find_run_dirs([sweep])
    assert len(dirs) == len(METHODS) * 3
    assert {(r.method, r.seed) for r in sweep_runs} == {(m, s) for m in METHODS for s in (0, 1, 2)}
    assert {r.task for r in sweep_runs} == {"countdown"}
    # a run and the sweep holding it, given together, are read once
    assert len(find_run_dirs([sweep, sweep / "oracle-seed0"])[0]) == len(dirs)


def test_without_config_yaml_the_method_and_seed_come_from_the_folder_name(tmp_path):
    run = load_run(write_run(tmp_path / "majority_vote-seed4", None, 0, val_lines({0: 0.1, 5: 0.2})))
    assert (run.method, run.seed) == ("majority_vote", 4)
    assert any("no config.yaml" in w for w in run.warnings)


def test_config_yaml_wins_over_the_folder_name(tmp_path):
    run = load_run(write_run(tmp_path / "oracle-seed9", "self_verify", 2, val_lines({0: 0.1})))
    assert (run.method, run.seed) == ("self_verify", 2)


# --- numbers ---------------------------------------------------------------------------------------------------


def test_peak_final_gain_and_share_of_the_oracle_gain(tmp_path):
    write_run(tmp_path / "o0", "oracle", 0, val_lines({0: 0.1, 5: 0.3, 10: 0.5}))  # gain 0.4
    write_run(tmp_path / "o1", "oracle", 1, val_lines({0: 0.1, 5: 0.3, 10: 0.2}))  # gain 0.2 -> oracle mean 0.3
    write_run(tmp_path / "m0", "majority_vote", 0, val_lines({0: 0.1, 5: 0.25, 10: 0.4, 15: 0.05}))
    summaries, warnings = summarize(load_runs([tmp_path])[0])
    assert warnings == []
    mv = next(s for s in summaries if s.run.method == "majority_vote")
    assert (mv.initial, mv.peak, mv.peak_step, mv.final, mv.steps_to_peak) == (0.1, 0.4, 10, 0.05, 10)
    assert mv.gain == pytest.approx(0.3)
    assert mv.share == pytest.approx(1.0)
    assert [s.run.method for s in summaries] == ["oracle", "oracle", "majority_vote"]


def test_the_share_is_per_task_and_missing_without_an_oracle_of_that_task(tmp_path):
    write_run(tmp_path / "o", "oracle", 0, val_lines({0: 0.0, 5: 0.5}), task="countdown")
    write_run(tmp_path / "a", "self_verify", 0, val_lines({0: 0.0, 5: 0.25}), task="countdown")
    write_run(tmp_path / "b", "self_verify", 0, val_lines({0: 0.0, 5: 0.25}), task="math")
    summaries, warnings = summarize(load_runs([tmp_path])[0])
    shares = {(s.run.task, s.run.method): s.share for s in summaries}
    assert shares[("countdown", "self_verify")] == pytest.approx(0.5)
    assert shares[("math", "self_verify")] is None
    assert any("task 'math'" in w and "no oracle run" in w for w in warnings)


def test_the_table_has_per_run_and_aggregated_rows_with_mean_and_std(sweep, tmp_path):
    report = build_report([sweep], tmp_path / "out")
    table = report.tables_md["countdown"]
    assert table.count("\n") == 1 + len(METHODS) * 4  # header, rule, 3 runs + 1 aggregate per method
    agg = next(line for line in table.splitlines() if line.startswith("| **oracle (mean ± std, n=3)"))
    peaks = [s.peak for s in report.summaries if s.run.method == "oracle"]
    mean = 100 * sum(peaks) / 3
    assert f"**{mean:.1f} ± " in agg
    assert "100% ± " in agg  # the oracle is 100% of its own mean gain
    mv_agg = next(line for line in table.splitlines() if line.startswith("| **majority_vote"))
    assert "3/3 runs, mean" in mv_agg


def test_the_collapse_step_is_read_from_collapse_json_or_recomputed_when_absent(tmp_path):
    with_json = write_synthetic_run(tmp_path / "token_entropy-seed0", "token_entropy", 0, steps=40)
    record = json.loads((with_json / "collapse.json").read_text())
    record["collapse_step"] = 7  # proves the file is what is read
    (with_json / "collapse.json").write_text(json.dumps(record))
    without = write_synthetic_run(tmp_path / "token_entropy-seed1", "token_entropy", 1, steps=40, collapse_json=False)
    runs = {r.seed: r for r in load_runs([tmp_path])[0]}
    assert runs[0].collapse["collapse_step"] == 7 and not runs[0].collapse_recomputed
    expected = collapse_from_metrics(json.loads(line) for line in (without / "metrics.jsonl").read_text().splitlines())
    assert runs[1].collapse_recomputed
    assert runs[1].collapse["collapse_step"] == expected["collapse_step"] is not None
    md = build_report([tmp_path], tmp_path / "out").md_path.read_text()
    assert f"| {expected['collapse_step']} (recomputed) |" in md
    assert "| 7 |" in md


def test_the_validation_drop_step_stands_beside_a_collapse_step_that_never_fired(tmp_path):
    """A run whose validation falls far below its peak while reward accuracy stays high (as token_entropy did on
    the v6 organism) shows the drop step, not only 'none' for collapse; a run that never falls 5 pp shows none."""
    write_run(tmp_path / "token_entropy-seed0", "token_entropy", 0,
              val_lines({0: 0.30, 10: 0.32, 20: 0.29, 30: 0.24, 40: 0.20}, reward_accuracy=0.5))
    write_run(tmp_path / "oracle-seed0", "oracle", 0,
              val_lines({0: 0.30, 10: 0.31, 20: 0.33, 30: 0.30, 40: 0.32}, reward_accuracy=1.0))
    summaries, _ = summarize(load_runs([tmp_path])[0])
    by = {s.run.method: s for s in summaries}
    assert by["token_entropy"].drop_step == 30 and by["token_entropy"].collapsed is False
    assert by["oracle"].drop_step is None
    table = build_report([tmp_path], tmp_path / "out").tables_md["countdown"]
    header = [c.strip() for c in table.splitlines()[0].strip("|").split("|")]
    rows = {line.split("|")[1].strip(): [c.strip() for c in line.strip("|").split("|")] for line in table.splitlines()[2:]}
    drop, collapse = header.index("Val drop step"), header.index("Collapse step")
    te = next(cells for label, cells in rows.items() if label.startswith("token_entropy") and "mean" not in label)
    assert (te[drop], te[collapse]) == ("30", "none")
    orc = next(cells for label, cells in rows.items() if label.startswith("oracle") and "mean" not in label)
    assert orc[drop] == "none"
    agg = next(cells for label, cells in rows.items() if "token_entropy (mean" in label)
    assert agg[drop] == "**1/1 runs, mean 30**"


# --- robustness ------------------------------------------------------------------------------------------------


def test_a_torn_last_line_is_ignored_silently_and_a_corrupt_line_is_a_warning(tmp_path):
    lines = [*map(lambda r: json.dumps(r) + "\n", val_lines({0: 0.1, 5: 0.2})), "{not json\n", '"a string"\n',
             json.dumps({"step": 10, "val/accuracy": 0.3}) + "\n", '{"step": 15, "val/acc']
    run = load_run(write_run(tmp_path / "r", "oracle", 0, lines))
    assert [r["step"] for r in run.records] == [0, 5, 10]
    corrupt = [w for w in run.warnings if w.endswith("skipped") and ("not valid JSON" in w or "not an object" in w)]
    assert len(corrupt) == 2 and "line 3" in corrupt[0] and "line 4" in corrupt[1]
    assert not any("line 6" in w for w in run.warnings)  # the torn tail of a run still writing


def test_a_run_in_progress_is_read_again_as_it_grows(tmp_path):
    run_dir = write_run(tmp_path / "live", "oracle", 0, val_lines({0: 0.1}))
    first = build_report([run_dir], tmp_path / "out")
    assert first.summaries[0].last_step == 0
    with (run_dir / "metrics.jsonl").open("a") as f:
        f.write(json.dumps({"step": 1, "reward": 0.2, "oracle_accuracy": 0.2, "reward_accuracy": 1.0}) + "\n")
        f.write('{"step": 2, "val/accuracy": 0.')  # being written right now
    second = build_report([run_dir], tmp_path / "out")
    assert second.summaries[0].last_step == 1
    assert not any("line" in w for w in second.warnings)
    with (run_dir / "metrics.jsonl").open("a") as f:
        f.write('4, "reward": 0.3, "oracle_accuracy": 0.3}\n')
    third = build_report([run_dir], tmp_path / "out")
    assert (third.summaries[0].last_step, third.summaries[0].peak) == (2, 0.4)


def test_runs_without_oracle_metrics_or_oracle_runs_give_warnings_in_the_report(tmp_path):
    write_run(tmp_path / "self_certainty-seed0", "self_certainty", 0,
              [{"step": 1, "reward": 9.0, "entropy": 1.2}, {"step": 2, "reward": 9.5, "entropy": 1.0}])
    write_run(tmp_path / "self_verify-seed0", "self_verify", 0, val_lines({0: 0.1, 4: 0.3}, reward=0.5))
    report = build_report([tmp_path], tmp_path / "out")
    text = report.html_path.read_text()
    for needle in ("no &#x27;val/accuracy&#x27;", "no &#x27;oracle_accuracy&#x27;", "no oracle run"):
        assert needle in text
    assert "Warnings (" in text
    md = report.md_path.read_text()
    assert "## Warnings" in md and "no oracle run with a validation gain" in md


def test_an_empty_run_dir_is_a_warning_not_a_failure(tmp_path):
    empty = tmp_path / "oracle-seed0"
    empty.mkdir()
    html = write_report([empty], tmp_path / "out")
    assert html == tmp_path / "out" / "report.html"
    assert "no metrics yet" in html.read_text()


def test_no_run_dirs_at_all_is_a_usage_error(tmp_path):
    (tmp_path / "tree" / "nothing").mkdir(parents=True)
    with pytest.raises(NoRunsError):
        build_report([tmp_path / "tree", tmp_path / "missing"], tmp_path / "out")


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "trainer.report", *args], capture_output=True, text=True, timeout=120)


def test_cli_exits_non_zero_only_for_usage_errors(tmp_path):
    missing = run_cli(str(tmp_path / "missing"), "--out", str(tmp_path / "o"))
    assert missing.returncode == 2 and "no run directories" in missing.stderr
    assert run_cli().returncode == 2  # argparse: no path
    write_run(tmp_path / "broken", "oracle", 0, ["garbage\n", "{}\n"])
    broken = run_cli(str(tmp_path / "broken"), "--out", str(tmp_path / "o"))
    assert broken.returncode == 0, broken.stderr
    assert "warning:" in broken.stderr


def test_cli_on_a_sweep_writes_html_markdown_and_pngs_and_prints_the_table(sweep, tmp_path):
    out = tmp_path / "report"
    proc = run_cli(str(sweep), "--out", str(out), "--smooth", "3")
    assert proc.returncode == 0, proc.stderr
    assert "| oracle seed 0 |" in proc.stdout and "| **trajectory_entropy (mean ± std, n=3)** |" in proc.stdout
    html = (out / "report.html").read_text()
    assert not re.search(r"""(src|href)\s*=\s*['"]?(https?:|//)""", html), "the report must load nothing external"
    images = re.findall(r"<img [^>]*src='data:image/png;base64,([^']+)'", html)
    assert len(images) == 4
    assert all(base64.b64decode(data).startswith(PNG_MAGIC) for data in images)
    md = (out / "report.md").read_text()
    linked = re.findall(r"!\[[^\]]*\]\(([^)]+\.png)\)", md)
    assert len(linked) == 4 and all((out / name).read_bytes().startswith(PNG_MAGIC) for name in linked)


# --- plots -----------------------------------------------------------------------------------------------------


def legend_styles(fig) -> dict[str, tuple]:
    handles = fig.legends[0].legend_handles
    return {h.get_label().split(" (")[0]: (h.get_color(), str(h.get_linestyle()), h.get_marker()) for h in handles}


def test_figures_have_titles_axis_labels_and_units(sweep_runs):
    palette = plots.Palette([r.method for r in sweep_runs])
    figs = [plots.val_accuracy_figure(sweep_runs, palette, "countdown"),
            plots.reward_accuracy_figure(sweep_runs, palette, "countdown"),
            plots.reward_vs_oracle_figure(sweep_runs, palette, "countdown"),
            plots.dynamics_figure(sweep_runs, palette, "countdown")]
    for fig in figs:
        assert fig.get_suptitle()
        assert fig.legends and fig.legends[0].get_texts()
        for ax in (a for a in fig.axes if a.get_visible() and a.get_xlabel()):
            assert ax.get_title() and ax.get_xlabel() == "Training step" and ax.get_ylabel()
            assert ax.lines, f"empty panel {ax.get_title()!r}"
    assert figs[0].axes[0].get_ylabel() == "Accuracy (%)"
    assert [a.get_ylabel() for a in figs[3].axes] == ["Entropy (nats / token)", "Length (tokens)", "Label accuracy (%)"]
    twins = [a for a in figs[2].axes if a.get_ylabel() == "Reward (raw units)"]
    assert len(twins) == 3  # the unbounded intrinsic rewards get their own axis
    for fig in figs:
        plots.plt.close(fig)


def test_each_method_keeps_one_distinct_style_in_every_plot_and_the_oracle_is_black(sweep_runs):
    palette = plots.Palette([r.method for r in sweep_runs])
    a = plots.val_accuracy_figure(sweep_runs, palette, "countdown")
    b = plots.dynamics_figure(sweep_runs, palette, "countdown")
    styles_a, styles_b = legend_styles(a), legend_styles(b)
    assert set(styles_a) == set(METHODS) and styles_a == styles_b
    assert styles_a["oracle"][0] == "#000000"
    assert len({s[0] for s in styles_a.values()}) == len(METHODS)
    assert len({str(palette[m].dash) for m in METHODS}) == len(METHODS)  # dashes tell lines apart without colour
    oracle_line = max(a.axes[0].lines, key=lambda line: line.get_linewidth())
    assert oracle_line.get_color() == "#000000"
    plots.plt.close(a)
    plots.plt.close(b)


def test_unknown_methods_get_distinct_non_black_colours():
    palette = plots.Palette(["oracle", "zeta", "alpha", "self_verify"])
    assert palette.methods == ["oracle", "self_verify", "alpha", "zeta"]
    colours = [palette[m].colour for m in palette.methods]
    assert len(set(colours)) == 4 and colours[0] == "#000000" and "#000000" not in colours[1:]


@pytest.mark.parametrize("below", ["", "sub"])
def test_out_that_is_a_file_is_one_line_and_the_file_is_untouched(sweep, tmp_path, below):
    f = tmp_path / "afile"
    f.write_text("keep me")
    out = f / below if below else f
    with pytest.raises(OutDirError, match="is a file|is below"):
        build_report([sweep], out)
    proc = run_cli(str(sweep), "--out", str(out))
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert proc.stderr.strip().splitlines() == [proc.stderr.strip()]  # one line
    assert proc.stderr.startswith("urlvr report: --out ")
    assert f.read_text() == "keep me"

