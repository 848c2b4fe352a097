"""Hydra's view of the pydantic config models: every field with its default, so YAML need not list any.

The pydantic models in :mod:`trainer.config` (and each registered task's and reward's ``Config``) hold every
default once. :func:`register_schemas` turns them into Hydra ConfigStore nodes that ``conf/config.yaml`` loads
first, so ``trainer.lora.enabled=true`` overrides a key Hydra knows instead of failing with "not in struct".
Free-form mappings (``trainer.grpo``, ``reward.options``) stay open so ``trainer.grpo.KEY=VALUE`` works too.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import BaseModel
from pydantic_core import to_jsonable_python

from trainer.config import RunConfig, is_mapping

BASE_NAME = "pydantic_base"
"""ConfigStore name of the top-level defaults (seed, model, trainer, verifiers)."""
GROUP_PREFIX = "pydantic"
"""ConfigStore groups ``pydantic/task`` and ``pydantic/reward``: the defaults of each registered plugin."""
MISSING = "???"


def model_defaults(model: type[BaseModel]) -> dict[str, Any]:
    """Every field of ``model`` with its default (nested models recursed); required fields are ``???``."""
    out: dict[str, Any] = {}
    for name, field in model.model_fields.items():
        if field.is_required():
            out[name] = MISSING
            continue
        default = field.get_default(call_default_factory=True)
        sub = _submodel(field.annotation)
        if isinstance(default, BaseModel):
            out[name] = model_defaults(type(default))
        elif default is None and sub is not None:
            out[name] = None
        else:
            out[name] = to_jsonable_python(default)
    return out


def open_paths(model: type[BaseModel], prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    """Dotted paths of the free-form mapping fields under ``model`` (their keys are the consumer's to check)."""
    paths = []
    for name, field in model.model_fields.items():
        ann = field.annotation
        sub = _submodel(ann)
        if sub is not None:
            paths.extend(open_paths(sub, (*prefix, name)))
        elif is_mapping(ann):
            paths.append((*prefix, name))
    return paths


def _submodel(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    return None


def to_node(defaults: dict[str, Any], model: type[BaseModel]):
    """An OmegaConf node of ``defaults`` whose free-form mappings accept new keys."""
    from omegaconf import OmegaConf

    node = OmegaConf.create(defaults)
    for path in open_paths(model):
        sub = OmegaConf.select(node, ".".join(path))
        if sub is not None:
            OmegaConf.set_struct(sub, False)
    return node


def base_defaults() -> dict[str, Any]:
    """Top-level defaults: every RunConfig field except the plugin groups and the run directory."""
    tree = model_defaults(RunConfig)
    for key in ("task", "reward", "run_dir"):
        tree.pop(key, None)
    return tree


def plugin_defaults(registry, name: str) -> tuple[dict[str, Any], type[BaseModel]]:
    """The defaults of one registered task or reward, its name filled in."""
    cls = registry.get(name).Config
    return {**model_defaults(cls), "name": name}, cls


def register_schemas(conf_dir: Path) -> None:
    """Store the defaults in Hydra's ConfigStore; plugins without a YAML file get a group option of their own.

    A plugin that fails to import is left out here; selecting it then fails in validation with the reason.
    """
    from hydra.core.config_store import ConfigStore

    from rewards import REWARDS
    from tasks import TASKS

    cs = ConfigStore.instance()
    cs.store(name=BASE_NAME, node=to_node(base_defaults(), RunConfig))
    for group, registry in (("task", TASKS), ("reward", REWARDS)):
        for name in registry.names():
            try:
                defaults, cls = plugin_defaults(registry, name)
            except Exception:  # noqa: BLE001 - a broken third-party plugin must not stop every other run
                continue
            cs.store(group=f"{GROUP_PREFIX}/{group}", name=name, node=to_node(defaults, cls))
            if not (conf_dir / group / f"{name}.yaml").exists():
                cs.store(group=group, name=name, node={"name": name})
