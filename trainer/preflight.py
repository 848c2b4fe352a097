"""Everything a run can fail on before a model loads, checked for every job of a sweep before the first starts.

``preflight(argv)`` takes the command line of ``python -m trainer.run``: it checks the override keys and group
choices against the pydantic models and registries, composes each job's config with Hydra exactly as the run
will, validates it (cross-field checks included) and checks that the run directory can be one. Every problem
is a :class:`~trainer.config.ConfigError` of one line.
"""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

import yaml

from rewards import REWARDS
from tasks import TASKS
from trainer.config import ConfigError, RunConfig, check_override_keys, validate_config
from verifiers.registry import RegistryError

CONF_DIR = Path(__file__).parent / "conf"
GROUPS = ("task", "reward", "model")
INFO_FLAGS = ("--help", "-h", "--hydra-help", "--info", "-i", "--cfg", "-c", "--shell-completion", "-sc")
"""Hydra flags that print something instead of running; preflight leaves them to Hydra."""


def default_choices(conf_dir: Path = CONF_DIR) -> dict[str, str]:
    """The group choices of config.yaml's defaults list (``task``, ``reward``, ``model``)."""
    defaults = yaml.safe_load((conf_dir / "config.yaml").read_text()).get("defaults", [])
    return {k: v for entry in defaults if isinstance(entry, dict) for k, v in entry.items() if k in GROUPS}


def split_argv(argv: list[str]) -> tuple[list[str], bool, bool]:
    """(overrides, multirun, info): the ``key=value`` overrides, whether ``-m`` was given, and whether an
    informational Hydra flag (``--help``, ``--cfg job``) was."""
    overrides = [a for a in argv if ("=" in a or a.startswith("~")) and not a.startswith("-")]
    multirun = any(a in ("-m", "--multirun") for a in argv)
    info = any(a.split("=")[0] in INFO_FLAGS for a in argv)
    return overrides, multirun, info


def expand_sweep(overrides: list[str]) -> list[list[str]]:
    """Each job's overrides of a ``-m`` sweep: ``reward=a,b seed=0,1`` gives four jobs."""
    from hydra.core.override_parser.overrides_parser import OverridesParser
    from hydra.errors import HydraException

    try:
        parsed = OverridesParser.create().parse_overrides(overrides)
        axes = [[f"{o.get_key_element()}={v}" for v in o.sweep_string_iterator()] if o.is_sweep_override()
                else [o.input_line] for o in parsed]
    except HydraException as exc:
        raise ConfigError(_one_line(exc)) from None
    return [list(job) for job in itertools.product(*axes)]


def check_choices(overrides: list[str], conf_dir: Path = CONF_DIR) -> None:
    """``task=``, ``reward=`` and ``model=`` name a registered task or reward, or a model YAML."""
    for ov in overrides:
        key, _, value = ov.partition("=")
        if key in ("task", "reward"):
            registry = TASKS if key == "task" else REWARDS
            try:
                registry.get(value)
            except RegistryError as exc:
                raise ConfigError(f"{key}: {exc}") from None
        elif key == "model" and not (conf_dir / "model" / f"{value}.yaml").is_file():
            names = sorted(p.stem for p in (conf_dir / "model").glob("*.yaml"))
            raise ConfigError(f"model: unknown model {value!r}; valid choices: {', '.join(names)} "
                              "(or model.name_or_path=HF_ID_OR_FOLDER)")


def compose(overrides: list[str], conf_dir: Path = CONF_DIR, with_hydra: bool = False) -> dict[str, Any]:
    """The composed config as the run sees it (interpolations resolved); ``with_hydra`` adds ``hydra``'s
    ``run`` and ``sweep`` directories."""
    from hydra import compose as hydra_compose
    from hydra import initialize_config_dir
    from hydra.errors import HydraException
    from omegaconf import OmegaConf, open_dict
    from omegaconf.errors import OmegaConfBaseException

    from trainer.schema import register_schemas

    register_schemas(conf_dir)
    try:
        with initialize_config_dir(config_dir=str(conf_dir), version_base=None):
            cfg = hydra_compose("config", overrides=overrides, return_hydra_config=True)
            dirs = {k: OmegaConf.to_container(cfg.hydra[k], resolve=True) for k in ("run", "sweep")}
            with open_dict(cfg):
                cfg.pop("hydra", None)
            raw = OmegaConf.to_container(cfg, resolve=True, throw_on_missing=True)
            return {**raw, "hydra": dirs} if with_hydra else raw
    except (HydraException, OmegaConfBaseException) as exc:
        raise ConfigError(_one_line(exc)) from None


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return text.replace("full_key: ", "").replace(" object_type=dict", "")


def check_dir(path: str | Path, option: str) -> None:
    """``path`` is, or can be made, a directory: it is not a file, nor below one."""
    p = Path(path)
    for q in (p, *p.parents):
        if q.exists() or q.is_symlink():
            if not q.is_dir():
                what = "is a file" if q == p else f"is below {q}, which is a file"
                raise ConfigError(f"{option}: {str(p)!r} {what}; give a directory (new or existing)")
            return


def job_config(overrides: list[str], multirun: bool, conf_dir: Path = CONF_DIR) -> RunConfig:
    """One job's validated config, its run directory checked."""
    check_override_keys(overrides, default_choices(conf_dir))
    check_choices(overrides, conf_dir)
    raw = compose(overrides, conf_dir, with_hydra=True)
    hydra = raw.pop("hydra")
    if multirun:  # the run directory is where Hydra will put the job, as in trainer.run._hydra_entry
        check_dir(hydra["sweep"]["dir"], "hydra.sweep.dir")
        raw["run_dir"] = str(Path(hydra["sweep"]["dir"]) / str(hydra["sweep"]["subdir"]))
    else:
        raw["run_dir"] = str(hydra["run"]["dir"])
    cfg = validate_config(raw)
    check_dir(cfg.run_dir, "run_dir")
    return cfg


def preflight(argv: list[str], conf_dir: Path = CONF_DIR) -> list[RunConfig]:
    """Every job's validated config for this command line; raises ConfigError at the first problem."""
    overrides, multirun, info = split_argv(argv)
    if info:
        return []
    jobs = expand_sweep(overrides) if multirun else [overrides]
    return [job_config(job, multirun, conf_dir) for job in jobs]
