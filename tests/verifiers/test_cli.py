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


# --------------------------------------------------------------------------- hostile input files: nothing lost

GOOD_LINE = json.dumps(GOOD).encode()
WRONG_LINE = json.dumps(WRONG).encode()
DEEP = b'{"completion": "x", "nums": ' + b"[" * 200_000 + b"]" * 200_000 + b', "target": 1}'
HOSTILE_FILES = {
    # name: (file bytes, expected statuses, substring of the reason of each error line, by line number)
    "lone CR inside a line": (GOOD_LINE + b"\r" + WRONG_LINE + b"\n" + GOOD_LINE + b"\n", ["error", "correct"], {1: "not valid JSON"}),
    "raw CR in a string": (GOOD_LINE + b'\n{"completion": "a\rb", "nums": [1], "target": 1}\n' + WRONG_LINE + b"\n",
                           ["correct", "error", "incorrect"], {2: "Invalid control character"}),
    "CRLF line ends": (GOOD_LINE + b"\r\n" + WRONG_LINE + b"\r\n", ["correct", "incorrect"], {}),
    "binary garbage": (GOOD_LINE + b"\n\x00\xff\xfe\x80binary\x00\n" + GOOD_LINE + b"\n", ["correct", "error", "correct"], {2: "not UTF-8 (byte 0xff"}),
    "latin-1 text": (b'{"completion": "caf\xe9", "nums": [1], "target": 1}\n' + GOOD_LINE + b"\n", ["error", "correct"], {1: "not UTF-8"}),
    "5,000-digit integer": (GOOD_LINE + b'\n{"completion": "x", "nums": [1' + b"0" * 5000 + b'], "target": 1}\n' + GOOD_LINE,
                            ["correct", "error", "correct"], {2: "cannot be read"}),
    "deeply nested JSON": (WRONG_LINE + b"\n" + DEEP + b"\n" + GOOD_LINE + b"\n", ["incorrect", "error", "correct"], {2: "nested too deeply"}),
    "JSON that is not an object": (b'[1, 2]\n"text"\n42\nnull\n' + GOOD_LINE + b"\n", ["error"] * 4 + ["correct"],
                                   {1: "got list", 2: "got str", 3: "got int", 4: "got NoneType"}),
    "missing and mistyped fields": (b'{"nums": [1], "target": 1}\n{"completion": 7}\n{"completion": "<answer>1</answer>"}\n' + GOOD_LINE,
                                    ["error", "error", "error", "correct"], {1: "missing the 'completion' field", 2: "must be a string", 3: "nums"}),
    "empty and blank lines, no final newline": (b"\n   \n" + GOOD_LINE + b"\n\n" + WRONG_LINE, ["error", "error", "correct", "error", "incorrect"],
                                                {1: "not valid JSON", 2: "not valid JSON", 4: "not valid JSON"}),
    "Unicode line separators inside strings": (
        json.dumps({**WRONG, "completion": "a\u2028b\u2029c\x85d\x0ce\x0bf" + WRONG["completion"]}, ensure_ascii=False).encode() + b"\n" + GOOD_LINE + b"\n",
        ["incorrect", "correct"], {}),
    "byte-order mark and a lone surrogate": (b"\xef\xbb\xbf" + GOOD_LINE + b'\n{"completion": "\\ud800", "nums": [1], "target": 1}\n',
                                             ["correct", "incorrect"], {}),
}


@pytest.mark.parametrize("name", list(HOSTILE_FILES))
def test_every_input_line_gets_exactly_one_verdict_whatever_its_bytes(tmp_path: Path, name: str):
    data, statuses, reasons = HOSTILE_FILES[name]
    src, dst = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    src.write_bytes(data)
    assert main(["verify", "countdown", "-i", str(src), "-o", str(dst), "--backend", "inprocess", "--batch-size", "2"]) == 0
    got = [json.loads(line) for line in dst.read_bytes().decode("utf-8").split("\n")[:-1]]  # strict UTF-8, valid JSON
    assert [v["status"] for v in got] == statuses
    for lineno, fragment in reasons.items():
        assert got[lineno - 1]["score"] is None and fragment in got[lineno - 1]["reason"], got[lineno - 1]
        if fragment != "nums":  # a missing task field is the verifier's finding, not the line's
            assert got[lineno - 1]["reason"].startswith(f"line {lineno}: ")


def test_hostile_lines_through_the_real_command_and_worker_processes(tmp_path: Path):
    src = tmp_path / "in.jsonl"
    files = sorted(HOSTILE_FILES.values(), key=lambda f: not f[0].startswith(b"\xef\xbb\xbf"))  # the mark opens the file
    src.write_bytes(b"".join(data if data.endswith(b"\n") else data + b"\n" for data, _, _ in files))
    expected = [s for _, statuses, _ in files for s in statuses]
    out = subprocess.run([sys.executable, "-m", "verifiers", "verify", "countdown", "-i", str(src), "--backend", "local", "--workers", "1"],
                         capture_output=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    assert [json.loads(line)["status"] for line in out.stdout.decode("utf-8").split("\n")[:-1]] == expected


def test_output_replaces_the_file_only_at_the_end_and_leaves_no_temporary(tmp_path: Path):
    src, dst = write(tmp_path / "in.jsonl", [GOOD, WRONG]), tmp_path / "out.jsonl"
    dst.write_text("old verdicts\n")
    dst.chmod(0o640)
    assert main(["verify", "countdown", "-i", str(src), "-o", str(dst), "--backend", "inprocess", "--config", '{"colour": 1}']) == 2
    assert dst.read_text() == "old verdicts\n" and sorted(p.name for p in tmp_path.iterdir()) == ["in.jsonl", "out.jsonl"]
    assert main(["verify", "countdown", "-i", str(src), "-o", str(dst), "--backend", "inprocess"]) == 0
    assert [v["status"] for v in verdicts(dst.read_text())] == ["correct", "incorrect"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.jsonl", "out.jsonl"] and dst.stat().st_mode & 0o777 == 0o640


def _same_path(tmp: Path, src: Path) -> Path:
    return src


def _symlink(tmp: Path, src: Path) -> Path:
    (tmp / "link.jsonl").symlink_to(src)
    return tmp / "link.jsonl"


def _hard_link(tmp: Path, src: Path) -> Path:
    (tmp / "hard.jsonl").hardlink_to(src)
    return tmp / "hard.jsonl"


def _dotted(tmp: Path, src: Path) -> Path:
    (tmp / "sub").mkdir()
    return tmp / "sub" / ".." / src.name


@pytest.mark.parametrize("alias", [_same_path, _symlink, _hard_link, _dotted], ids=["same path", "symlink", "hard link", "dotted path"])
def test_output_that_is_the_input_is_refused_and_the_input_kept(tmp_path: Path, capsys, alias):
    src = write(tmp_path / "in.jsonl", [GOOD, WRONG])
    before = src.read_bytes()
    assert main(["verify", "countdown", "-i", str(src), "-o", str(alias(tmp_path, src)), "--backend", "inprocess"]) == 2
    err = capsys.readouterr().err
    assert src.read_bytes() == before
    assert err.count("\n") == 1 and "is the input file" in err


@pytest.mark.parametrize(
    ("make_args", "message"),
    [
        (lambda t, src: ["-i", str(t / "missing.jsonl")], "input file .*missing.jsonl' does not exist"),
        (lambda t, src: ["-i", str(t)], "is a directory, not a file"),
        (lambda t, src: ["-i", str(src), "-o", str(t / "no" / "such" / "out.jsonl")], "the folder of output .* does not exist"),
        (lambda t, src: ["-i", str(src), "-o", str(t)], "output .* is a directory"),
    ],
    ids=["missing input", "input is a folder", "output in a missing folder", "output is a folder"],
)
def test_bad_paths_get_one_line_and_exit_2(tmp_path: Path, capsys, make_args, message):
    src = write(tmp_path / "in.jsonl", [GOOD])
    assert main(["verify", "countdown", *make_args(tmp_path, src), "--backend", "inprocess"]) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err.count("\n") == 1 and re.search(message, captured.err), captured.err
