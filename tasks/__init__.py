"""Tasks: datasets, prompt templates and answer extraction (countdown, math, code)."""

__urlvr_package__ = "urlvr"  # provenance marker: see sandboxes.provenance

try:
    from sandboxes.provenance import check_siblings
except ModuleNotFoundError as exc:  # 'sandboxes' itself belongs to another project
    raise ImportError(f"urlvr: {exc}; another project's 'sandboxes' shadows urlvr's: use a separate environment") from exc
check_siblings()

from tasks.base import Task, TaskConfig
from verifiers.registry import Registry

TASKS = Registry(
    "task",
    {
        "countdown": "tasks.countdown:CountdownTask",
        "math": "tasks.math:MathTask",
        "code": "tasks.code:CodeTask",
        "reasoning_gym": "tasks.reasoning_gym:ReasoningGymTask",
        "lean": "tasks.lean:LeanTask",
    },
    entry_point_group="urlvr.tasks",
)


def make_task(name: str, config: dict | None = None) -> Task:
    """Build a registered task, validating ``config`` against its own Config class."""
    cls = TASKS.get(name)
    return cls(cls.Config.model_validate({"name": name, **(config or {})}))


__all__ = ["TASKS", "Task", "TaskConfig", "make_task"]
