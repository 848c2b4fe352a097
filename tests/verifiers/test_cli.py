"""``python -m verifiers``: list, and verify a JSONL file (order kept, bad lines reported, usage errors exit 2)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from verifiers.cli import main

GOOD = {"nums": [3, 5, 7, 2], "target": 31, "completion": "<think>..</think><answer>(3*7)+5*2</answer>"}
WRONG = {"nums": [1, 2], "target": 3, "completion": "<answer>1*2</answer>"}


def write(path: Path, lines: list[object]) -> Path:
    path.write_text("".join((line if isinstance(line, str) else json.dumps(line)) + "\n" for line in lines))
    return path


def verdicts(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines()]


def test_list_shows_name_origin_needs_determinism_and_timeout():
    out = subprocess.run([sys.executable, "-m", "verifiers", "list"], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    header, *rows = out.stdout.splitlines()
    assert header.split() == ["NAME", "ORIGIN", "NEEDS", "DETERMINISTIC", "DEFAULT", "TIMEOUT"]
    countdown = next(r for r in rows if r.startswith("countdown"))
    assert countdown.split()[1:4] == ["built-in", "-", "true"] and countdown.rstrip().endswith("s")


def test_list_json(capsys):
    assert main(["list", "--json"]) == 0
    rows = {r["name"]: r for r in map(json.loads, capsys.readouterr().out.splitlines())}
    assert rows["countdown"]["origin"] == "built-in" and rows["countdown"]["needs"] == []
    assert isinstance(rows["countdown"]["default_timeout"], float)


def test_verify_subprocess_writes_one_verdict_per_line_in_order(tmp_path: Path):
    src = write(tmp_path / "in.jsonl", [GOOD, WRONG, "{not json", [1, 2], {"nums": [1]}, {"completion": 5}, "", GOOD])
    out = subprocess.run(
        [sys.executable, "-m", "verifiers", "verify", "countdown", "--input", str(src), "--workers", "2", "--batch-size", "3"],
        capture_output=True, text=True, timeout=120,
    )
    assert out.returncode == 0, out.stderr
    got = verdicts(out.stdout)
    assert [v["status"] for v in got] == ["correct", "incorrect", "error", "error", "error", "error", "error", "correct"]
    assert set(got[0]) == {"status", "score", "reason", "seconds"}
    assert got[0]["score"] == 1.0 and got[1]["score"] == 0.0 and got[2]["score"] is None
    assert got[2]["reason"].startswith("line 3: not valid JSON")
    assert got[3]["reason"] == "line 4: expected a JSON object, got list"
    assert got[4]["reason"].startswith("line 5: missing the 'completion' field")
    assert got[5]["reason"] == "line 6: 'completion' must be a string, got int"
    assert got[6]["reason"].startswith("line 7: not valid JSON")


def test_verify_to_an_output_file(tmp_path: Path, capsys):
    src = write(tmp_path / "in.jsonl", [GOOD, WRONG])
    dst = tmp_path / "out.jsonl"
    assert main(["verify", "countdown", "-i", str(src), "-o", str(dst), "--backend", "inprocess"]) == 0
    assert capsys.readouterr().out == ""
    assert [v["status"] for v in verdicts(dst.read_text())] == ["correct", "incorrect"]


def test_timeout_override_and_a_progress_bar_on_long_files(tmp_path: Path, scripted, capsys):
    lines = [{"answer": "1", "completion": "1"}] * 1200
    lines[5] = {"answer": "1", "completion": "spin"}
    src = write(tmp_path / "in.jsonl", lines)
    assert main(["verify", scripted, "-i", str(src), "--timeout", "1", "--workers", "2"]) == 0
    captured = capsys.readouterr()
    got = verdicts(captured.out)
    assert len(got) == 1200 and got[5]["status"] == "timeout" and "1s" in got[5]["reason"]
    assert sum(v["status"] == "correct" for v in got) == 1199
    assert "1200/1200" in captured.err  # tqdm, on stderr only


@pytest.mark.parametrize("transport", ["socket", "ray"])
def test_ray_backend(tmp_path: Path, ray_session, capsys, transport):
    src = write(tmp_path / "in.jsonl", [GOOD, WRONG, GOOD])
    assert main(["verify", "countdown", "-i", str(src), "--backend", "ray", "--workers", "1", "--transport", transport]) == 0
    assert [v["status"] for v in verdicts(capsys.readouterr().out)] == ["correct", "incorrect", "correct"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["verify", "nosuch", "-i", "{src}"], "unknown verifier 'nosuch'; valid choices: .*countdown"),
        (["verify", "countdown", "-i", "{missing}"], "input file .*missing.jsonl' does not exist"),
        (["verify", "countdown", "-i", "{src}", "--config", "{{"], "--config is not valid JSON"),
        (["verify", "countdown", "-i", "{src}", "--config", '{{"colour": 1}}'], "invalid options for 'countdown'.*colour"),
        (["verify", "countdown", "-i", "{src}", "--backend", "threads"], "unknown verifier pool backend 'threads'"),
        (["verify", "countdown", "-i", "{src}", "--workers", "0"], "must be at least 1"),
    ],
)
def test_usage_errors_exit_2_with_a_message(tmp_path: Path, capsys, args, message):
    src = write(tmp_path / "in.jsonl", [GOOD])
    argv = [a.format(src=src, missing=tmp_path / "missing.jsonl") for a in args]
    assert main(argv) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert re.search(message, captured.err, flags=re.S), captured.err
