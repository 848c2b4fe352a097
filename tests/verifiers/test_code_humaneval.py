"""HumanEval's own JSONL rows (task_id, prompt, body-only completion, test, entry_point) work with ``code`` as
they are: through the verifier and through ``python -m verifiers verify code --input``."""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
from pathlib import Path

import pytest

from tasks.code import humaneval_path
from verifiers.code import CodeVerifier

pytestmark = pytest.mark.timeout(600)
ROOT = Path(__file__).resolve().parents[2]
N = 20


@pytest.fixture(scope="module")
def records() -> list[dict]:
    """HumanEval's first N records exactly as the file holds them."""
    with gzip.open(humaneval_path(), "rt") as f:
        return [json.loads(line) for _, line in zip(range(N), f)]


@pytest.fixture(scope="module")
def verifier():
    v = CodeVerifier({"concurrency": 2})
    yield v
    v.close()


def test_body_only_canonical_completions_score_one(verifier, records):
    items = [{k: v for k, v in r.items() if k != "canonical_solution"} for r in records]
    verdicts = verifier.verify_batch(items, [r["canonical_solution"] for r in records])
    assert {r["task_id"]: v.status for r, v in zip(records, verdicts)} == {r["task_id"]: "correct" for r in records}


def test_full_function_completions_score_one_and_wrong_bodies_zero(verifier, records):
    full = verifier.verify_batch(records[:5], ["```python\n" + r["prompt"] + r["canonical_solution"] + "```" for r in records[:5]])
    assert [v.status for v in full] == ["correct"] * 5
    wrong = verifier.verify_batch(records, ["    return None\n"] * N)
    assert [(v.status, v.score) for v in wrong] == [("incorrect", 0.0)] * N


def test_cli_verifies_a_humaneval_file_as_it_is(records, tmp_path):
    path, out = tmp_path / "humaneval.jsonl", tmp_path / "verdicts.jsonl"
    lines = [{**r, "completion": r["canonical_solution"]} for r in records]
    lines += [{**r, "completion": "    import os\n    os._exit(0)\n"} for r in records[:3]]
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    proc = subprocess.run([sys.executable, "-m", "verifiers", "verify", "code", "--input", str(path), "--output", str(out),
                           "--no-progress"], cwd=ROOT, capture_output=True, text=True, timeout=500)
    assert proc.returncode == 0, proc.stderr[-2000:]
    verdicts = [json.loads(line) for line in out.read_text().splitlines()]
    assert [v["status"] for v in verdicts] == ["correct"] * N + ["incorrect"] * 3, verdicts
