"""The task contract: rows of prompts with task fields, a prompt template, and an answer extractor.

A row is a plain dict. It always has ``question`` (plain text, used by the self-verification prompt) and the
fields its oracle verifier reads (e.g. ``nums``/``target`` for countdown, ``answer`` for math).
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from collections.abc import Hashable, Iterable, Mapping
from pathlib import Path
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field

SYSTEM_PROMPT = (
    "You are a helpful assistant. You first think about the reasoning process in the mind "
    "and then provide the user with the answer."
)


class TaskConfig(BaseModel):
    """Options shared by every task. Each task extends this with its own fields."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    train_size: int = Field(default=512, ge=1, description="Training prompts (generated or the first N loaded).")
    val_size: int = Field(default=64, ge=0, description="Held-out validation prompts.")
    seed: int = Field(default=0, description="Seed for generation and shuffling.")
    path: str | None = Field(default=None, description="Optional JSONL file or HF-datasets folder to load instead of generating.")
    chat_template: bool | None = Field(default=None, description="Use the tokenizer's chat template; None = when it has one.")


class Task(ABC):
    """A source of prompt rows plus the task-specific answer logic the rewards need."""

    name: ClassVar[str]
    Config: ClassVar[type[TaskConfig]] = TaskConfig
    verifier: ClassVar[str]
    """Registry name of the oracle verifier for this task."""

    def __init__(self, config: TaskConfig | Mapping[str, Any] | None = None):
        if config is None or isinstance(config, Mapping):
            config = self.Config.model_validate({"name": self.name, **dict(config or {})})
        self.config = config

    @abstractmethod
    def rows(self, split: str) -> list[dict[str, Any]]:
        """Rows for ``split`` ("train" or "validation"); each has ``question`` and the verifier's fields."""

    @abstractmethod
    def user_prompt(self, row: Mapping[str, Any]) -> str:
        """The user turn for one row, including the answer-format instructions."""

    @abstractmethod
    def extract_answer(self, completion: str) -> str | None:
        """The final answer in a completion, or None when there is none."""

    def answer_key(self, answer: str) -> Hashable | None:
        """A canonical key so that equal answers compare equal (majority vote); None if unparseable."""
        return answer.strip() or None

    def verifier_config(self) -> dict[str, Any]:
        """Options for the oracle verifier that this task implies."""
        return {}

    def prompt(self, row: Mapping[str, Any], conversational: bool) -> Any:
        """The prompt TRL sees: chat messages when ``conversational``, else one plain string."""
        user = self.user_prompt(row)
        if conversational:
            return [{"role": "system", "content": SYSTEM_PROMPT}, {"role": "user", "content": user}]
        return f"{SYSTEM_PROMPT}\nUser: {user}\nAssistant: Let me solve this step by step.\n<think>"

    def dataset_rows(self, split: str, conversational: bool) -> list[dict[str, Any]]:
        """Rows with a ``prompt`` column added, ready for ``datasets.Dataset.from_list``."""
        return [{**row, "prompt": self.prompt(row, conversational)} for row in self.rows(split)]


def read_rows(path: str | Path, split: str = "train") -> list[dict[str, Any]]:
    """Read task rows from a JSONL file or a folder saved by HF ``datasets`` (``save_to_disk``)."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"task data {str(path)!r} does not exist")
    if path.is_dir():
        import datasets

        data = datasets.load_from_disk(str(path))
        if isinstance(data, datasets.DatasetDict):
            if split not in data:
                raise ValueError(f"{path} has splits {list(data)}, not {split!r}")
            data = data[split]
        return [dict(r) for r in data]
    return list(_read_jsonl(path))


def _read_jsonl(path: Path) -> Iterable[dict[str, Any]]:
    with path.open() as f:
        for lineno, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                raise ValueError(f"{path}:{lineno}: not valid JSON ({exc.msg})") from exc
            if not isinstance(row, dict):
                raise ValueError(f"{path}:{lineno}: expected a JSON object, got {type(row).__name__}")
            yield row


def require_fields(row: Mapping[str, Any], fields: Iterable[str], where: str) -> None:
    """Raise a clear error naming the missing field(s) of a loaded row."""
    missing = [f for f in fields if f not in row]
    if missing:
        raise ValueError(f"{where}: missing field(s) {missing}; present: {sorted(row)}")
