"""Tasks: datasets, prompt templates and answer extraction (countdown, math, code)."""

from tasks.base import Task, TaskConfig
from verifiers.registry import Registry

TASKS = Registry(
    "task",
    {
        "countdown": "tasks.countdown:CountdownTask",
        "math": "tasks.math:MathTask",
        "code": "tasks.code:CodeTask",
    },
    entry_point_group="urlvr.tasks",
)


def make_task(name: str, config: dict | None = None) -> Task:
    """Build a registered task, validating ``config`` against its own Config class."""
    cls = TASKS.get(name)
    return cls(cls.Config.model_validate({"name": name, **(config or {})}))


__all__ = ["TASKS", "Task", "TaskConfig", "make_task"]
