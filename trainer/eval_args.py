"""``key=value`` command lines for ``trainer.eval`` and ``trainer.probe``, validated by a pydantic model before any model loads.

``task.prompt_style=compact`` nests (``{"task": {"prompt_style": "compact"}}``); ``rewards=[a,b]`` and
``rewards=a,b`` are lists; values are read as YAML scalars (``8`` is an int, ``true`` a bool).
"""

from __future__ import annotations

from typing import Any

import yaml
from pydantic import BaseModel, ValidationError


class UsageError(ValueError):
    """A bad command line; the message says what is valid."""


def parse_words(argv: list[str], list_keys: frozenset[str] = frozenset(),
                named_groups: frozenset[str] = frozenset()) -> dict[str, Any]:
    """``key=value`` words -> a nested dict; keys in ``list_keys`` always become lists, and ``G=VALUE`` for a
    group in ``named_groups`` sets ``G.name`` (so ``task=countdown task.seed=1`` is one group)."""
    out: dict[str, Any] = {}
    for word in argv:
        key, sep, value = word.partition("=")
        if not sep or not key:
            raise UsageError(f"expected key=value, got {word!r}")
        if key in named_groups:
            key = f"{key}.name"
        parts = key.split(".")
        node = out
        for part in parts[:-1]:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                raise UsageError(f"{key}: {part} is a value, not a group")
        node[parts[-1]] = _list(value) if key in list_keys else _scalar(value)
    return out


def _scalar(value: str) -> Any:
    try:
        parsed = yaml.safe_load(value)
    except yaml.YAMLError:
        return value
    return value if isinstance(parsed, dict) else parsed


def _list(value: str) -> list[str]:
    inner = value.strip()
    if inner.startswith("[") and inner.endswith("]"):
        inner = inner[1:-1]
    return [p.strip().strip("'\"") for p in inner.split(",") if p.strip()]


def validate(model: type[BaseModel], fields: dict[str, Any]) -> Any:
    """``model`` built from ``fields``; a UsageError naming the problems and the valid keys otherwise."""
    try:
        return model.model_validate(fields)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'config'}: {e['msg']}" for e in exc.errors())
        raise UsageError(f"{problems}\nvalid keys: {', '.join(model.model_fields)}") from None


def run_command(prog: str, parse_config: Any, run: Any, argv: list[str] | None) -> int:
    """The body of ``main`` for ``trainer.eval`` and ``trainer.probe``: parse, run, one-line errors with exit 2."""
    import sys

    from rewards.judges import EndpointError
    from trainer.models import ModelUnavailableError
    from trainer.numerics import flush_denormals

    try:
        with flush_denormals():
            run(parse_config(sys.argv[1:] if argv is None else argv))
    except (UsageError, FileNotFoundError, ValueError, EndpointError, ModelUnavailableError) as exc:
        print(f"{prog}: {exc}", file=sys.stderr)
        return 2
    return 0
