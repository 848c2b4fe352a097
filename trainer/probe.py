"""CLI: a model's prior on a task, measured before training: will unsupervised RL work on it?

``python -m trainer.probe model=tiny-countdown task=countdown samples=8 prompts=32 out=runs/probe``

Samples ``samples`` completions of each of the first ``prompts`` validation rows at the training temperature,
scores them with the oracle, and measures: the confidence-correctness AUROC of each intrinsic signal
(self-certainty, token entropy, trajectory mean log-prob, sequence log-prob, majority share; 0.5 = no signal,
below 0.5 = confidently wrong); the ``self_verify`` judge's TPR/TNR on the model's own answers (greedy, the same
screening and prompt as the reward); pass@1 and pass@k. ``mcs_steps=N`` also runs ``trainer.run`` with
``reward=mcs_reward`` for N steps with ``trainer.stop_on_collapse=true`` and reads its ``collapse.json``.
Writes ``OUT/probe.json``, ``OUT/probe.md`` and ``OUT/probe.png``; prints the table.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from trainer.eval import make_source, make_task_checked, organism_task, row_id
from trainer.eval_args import UsageError, parse_words, run_command, validate
from trainer.probe_metrics import auroc, judge_rates, majority_share, mean_pass_at_k
from trainer.probe_report import plot, table

SIGNALS = {"self_certainty": "self_certainty", "token_entropy": "token_entropy",
           "trajectory_logprob": "trajectory_entropy", "probability": "probability"}
"""Probe signal name -> the intrinsic reduction (``rewards.token_stats.intrinsic_from_stats``) it is."""


class ProbeConfig(BaseModel):
    """Every option of ``trainer.probe``, with its default, once."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    model: str = Field(description="Checkpoint folder, HF id, organism/embedded name, or http(s) endpoint URL.")
    task: dict[str, Any] = Field(default_factory=lambda: {"name": "countdown"}, description="task=NAME and task.KEY=VALUE options.")
    samples: int = Field(default=8, ge=1, description="Samples per prompt (k for pass@k and majority share).")
    prompts: int = Field(default=32, ge=1, description="Validation prompts (the first N).")
    max_tokens: int = Field(default=256, ge=1, description="Longest completion in tokens.")
    temperature: float = Field(default=1.0, gt=0.0, description="Sampling temperature (GRPO samples at 1).")
    judge_tokens: int = Field(default=48, ge=1, description="Longest judge reply in tokens.")
    judge: bool = Field(default=True, description="Measure the self_verify judge (when the task supports it).")
    batch: int = Field(default=8, ge=1, description="Prompts per sampling step.")
    workers: int = Field(default=2, ge=1, description="Verifier worker processes (local pool).")
    out: str = Field(default="runs/probe", description="Output folder.")
    mcs_steps: int = Field(default=0, ge=0, description="Steps of a Model Collapse Step run (0 = none).")
    mcs_reward: str = Field(default="self_certainty", description="Reward for the collapse run.")
    mcs_args: list[str] = Field(default_factory=list, description="Further trainer.run overrides for the collapse run.")
    mcs_timeout_s: float = Field(default=3600.0, gt=0, description="Wall-clock limit of the collapse run.")
    endpoint_model: str = Field(default="default", description="Model name the endpoint serves.")
    api: Literal["chat", "completions"] = Field(default="chat", description="Endpoint API.")
    chat_template: bool | None = Field(default=None, description="Local model: chat prompts; None = when the tokenizer has a template.")
    seed: int = Field(default=0, description="Torch seed for local sampling.")
    device: str = Field(default="auto", description="Local model: torch device (auto = cuda when available, else cpu).")

    @model_validator(mode="before")
    @classmethod
    def _organism_ranges(cls, data: Any) -> Any:
        return organism_task(data)

    @model_validator(mode="after")
    def _checks(self) -> ProbeConfig:
        from rewards import REWARDS

        if "name" not in self.task:
            raise ValueError("task.* options need task=NAME")
        if self.mcs_reward not in REWARDS.names():
            raise ValueError(f"unknown mcs_reward {self.mcs_reward!r}; valid choices: {', '.join(REWARDS.names())}")
        if self.mcs_steps and self.is_endpoint():
            raise ValueError("mcs_steps needs a local model, not an endpoint")
        return self

    def is_endpoint(self) -> bool:
        return self.model.startswith(("http://", "https://"))


def parse_config(argv: list[str]) -> ProbeConfig:
    return validate(ProbeConfig, parse_words(argv, list_keys=frozenset({"mcs_args"}), named_groups=frozenset({"task"})))


def draw(cfg: ProbeConfig, task: Any, source: Any, rows: list[dict[str, Any]]) -> list[list[Any]]:
    """``cfg.samples`` samples of each row, with a progress bar."""
    from tqdm import tqdm

    out: list[list[Any]] = []
    for start in tqdm(range(0, len(rows), cfg.batch), desc="probe", unit="batch", file=sys.stderr):
        out.extend(source.sample(rows[start : start + cfg.batch], cfg.samples))
    return out


def signal_values(task: Any, samples: list[list[Any]], has_stats: bool) -> dict[str, list[float | None]]:
    """Each signal's value per sample (flat, row-major); intrinsic ones only from a local model's statistics."""
    flat = [s for group in samples for s in group]
    values: dict[str, list[float | None]] = {}
    if has_stats and flat:
        from rewards.intrinsic import stack_stats
        from rewards.token_stats import intrinsic_from_stats

        stats, mask = stack_stats([s.stats for s in flat])
        for name, reduction in SIGNALS.items():
            values[name] = [None if v != v else float(v) for v in intrinsic_from_stats(reduction, stats, mask, log_space=True).tolist()]
    else:
        values.update({name: [None] * len(flat) for name in SIGNALS})
    shares: list[float | None] = []
    for group in samples:
        answers = [task.extract_answer(s.text) for s in group]
        shares.extend(majority_share([None if a is None else task.answer_key(a) for a in answers]))
    values["majority_share"] = shares
    return values


def judge_on_own(task: Any, source: Any, rows: list[dict[str, Any]], samples: list[list[Any]], truth: list[bool | None],
                 reasons: list[str], max_tokens: int) -> dict[str, Any] | None:
    """The self_verify reward's judge on the model's own answered samples: TPR/TNR (None if unsupported or no judge)."""
    from rewards.self_verify import SelfVerifyReward, UnsupportedTaskError

    judge = source.judge()
    if judge is None:
        return None
    try:
        reward = SelfVerifyReward({"name": "self_verify", "max_judge_tokens": max_tokens}, task, judge=judge)
    except UnsupportedTaskError as exc:
        return {"unsupported": str(exc)}
    picked = [(row, s.text, t, why) for row, group, ts, whys in zip(rows, samples, _chunks(truth, samples), _chunks(reasons, samples))
              for s, t, why in zip(group, ts, whys) if t is not None and task.extract_answer(s.text) is not None]
    if not picked:
        return judge_rates([], [])
    keys = set.intersection(*(set(p[0]) for p in picked))
    columns = {k: [p[0][k] for p in picked] for k in keys if k not in ("prompt", "completion")}
    verdicts = reward.verdicts([p[1] for p in picked], **columns)
    kinds = ["correct" if t else error_kind(why) for _, _, t, why in picked]
    accepted = [None if v.score is None else v.status == "correct" for v in verdicts]
    return {**judge_rates(kinds, accepted), "screened": dict(reward.metrics())}


def error_kind(reason: str) -> str:
    """A wrong answer's kind: the oracle's reason as a template (numbers as N, up to its first colon, six words)."""
    head = re.sub(r"\d+", "N", reason[:200].lower()).split(":", 1)[0]
    return " ".join(head.split()[:6]) or "wrong"


def _auroc(values: list[float | None], truth: list[bool | None]) -> float | None:
    """AUROC of ``values`` against correctness, leaving out masked verdicts (None) and missing values."""
    return auroc([v if t is not None else None for v, t in zip(values, truth)], [bool(t) for t in truth])


def _chunks(flat: list[Any], samples: list[list[Any]]) -> list[list[Any]]:
    out, i = [], 0
    for group in samples:
        out.append(flat[i : i + len(group)])
        i += len(group)
    return out


def collapse_run(cfg: ProbeConfig, model_path: str) -> dict[str, Any]:
    """Run ``trainer.run`` for ``mcs_steps`` steps with an intrinsic reward, stopping on collapse; its collapse.json."""
    run_dir = Path(cfg.out) / "mcs"
    task_args = [f"task={cfg.task['name']}"] + [f"task.{k}={_override(v)}" for k, v in cfg.task.items() if k != "name"]
    cmd = [sys.executable, "-m", "trainer.run", f"reward={cfg.mcs_reward}", f"model.name_or_path={model_path}", *task_args,
           f"trainer.max_steps={cfg.mcs_steps}", "trainer.stop_on_collapse=true", f"run_dir={run_dir}", *cfg.mcs_args]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=cfg.mcs_timeout_s)
    except subprocess.TimeoutExpired:
        return {"ok": False, "error": f"trainer.run passed mcs_timeout_s={cfg.mcs_timeout_s}", "command": cmd}
    record: dict[str, Any] = {"ok": proc.returncode == 0, "returncode": proc.returncode, "command": cmd, "run_dir": str(run_dir)}
    if proc.returncode != 0:
        record["error"] = proc.stderr.strip().splitlines()[-1] if proc.stderr.strip() else "no output"
    collapse = run_dir / "collapse.json"
    if collapse.exists():
        record["collapse"] = json.loads(collapse.read_text())
    return record


def _override(value: Any) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, (list, tuple)):
        return "[" + ",".join(map(str, value)) + "]"
    return str(value)


def run(cfg: ProbeConfig, log: Any = print) -> dict[str, Any]:
    """Measure, write probe.json / probe.md / probe.png, print the table; returns the record."""
    from verifiers.pool import make_pool

    task = make_task_checked(cfg.task)
    out = Path(cfg.out)
    if out.exists() and not out.is_dir():
        raise UsageError(f"out={cfg.out!r} is a file, not a folder")
    source = make_source(cfg, task)
    rows = task.rows("validation")[: cfg.prompts]
    samples = draw(cfg, task, source, rows)
    flat_rows = [r for r, group in zip(rows, samples) for _ in group]
    with make_pool(task.verifier, task.verifier_config(), backend="local", workers=cfg.workers) as pool:
        verdicts = pool.verify_batch(flat_rows, [s.text for group in samples for s in group])
    truth = [None if v.score is None else v.status == "correct" for v in verdicts]
    groups = [[t for t in ts if t is not None] for ts in _chunks(truth, samples)]
    values = signal_values(task, samples, source.has_stats)
    record: dict[str, Any] = {
        "model": cfg.model, "task": cfg.task, "prompts": len(rows), "samples_per_prompt": cfg.samples,
        "temperature": cfg.temperature, "row_ids": [row_id(i, r) for i, r in enumerate(rows)],
        "pass@1": mean_pass_at_k(groups, 1), f"pass@{cfg.samples}": mean_pass_at_k(groups, cfg.samples),
        "verdicts": {st: sum(v.status == st for v in verdicts) for st in ("correct", "incorrect", "error", "timeout")},
        "auroc": {name: _auroc(vals, truth) for name, vals in values.items()},
        "judge": judge_on_own(task, source, rows, samples, truth, [v.reason for v in verdicts], cfg.judge_tokens) if cfg.judge else None,
    }
    if cfg.mcs_steps:
        from trainer.models import resolve_model

        record["mcs"] = collapse_run(cfg, resolve_model(cfg.model))
    out.mkdir(parents=True, exist_ok=True)
    (out / "probe.json").write_text(json.dumps(record, indent=2, default=str) + "\n")
    text = table(record)
    (out / "probe.md").write_text(text)
    plot(record, out / "probe.png")
    log(text)
    return record


def main(argv: list[str] | None = None) -> int:
    return run_command("trainer.probe", parse_config, run, argv)


if __name__ == "__main__":
    raise SystemExit(main())
