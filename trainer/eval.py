"""CLI: sample a model on a task's validation split (or read completions) and score with the oracle and any rewards.

``python -m trainer.eval model=tiny-countdown task=countdown samples=8 prompts=64 \\
rewards=[self_certainty,majority_vote] out=runs/eval-x``

``model`` is a checkpoint folder, an HF id, an organism preset or embedded model (``trainer.models.resolve_model``),
or an OpenAI-compatible URL (with ``endpoint_model=NAME``); an organism or a run's checkpoint
(``RUN/checkpoints/checkpoint-N``) brings the task options it was trained on unless the command line sets them.
``completions=FILE.jsonl`` scores completions already made instead (one object per line: the row's fields plus
``completion``). Prints mean@k, pass@k, verdict counts
and each reward's agreement with the oracle; writes ``OUT/samples.jsonl`` (one line per sample), ``OUT/summary.json``
and ``OUT/table.md``. Rerunning with the same ``out`` skips rows already there (a torn last line is dropped).
"""

from __future__ import annotations

import hashlib
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from trainer.eval_args import UsageError, parse_words, run_command, validate
from trainer.eval_store import SampleStore
from trainer.probe_metrics import fmt, mean_at_k, mean_pass_at_k, reward_agreement

SAMPLES_FILE = "samples.jsonl"
SAME_RUN_KEYS = ("model", "completions", "task", "samples", "temperature", "max_tokens", "chat_template", "endpoint_model")
"""Settings that must match for a rerun to resume into an existing ``out``."""


class EvalConfig(BaseModel):
    """Every option of ``trainer.eval``, with its default, once."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    model: str | None = Field(default=None, description="Checkpoint folder, HF id, organism/embedded name, or http(s) endpoint URL.")
    completions: str | None = Field(default=None, description="A JSONL of completions to score instead of sampling a model.")
    task: dict[str, Any] = Field(default_factory=lambda: {"name": "countdown"}, description="task=NAME and task.KEY=VALUE options.")
    samples: int = Field(default=4, ge=1, description="Samples per prompt (k).")
    prompts: int = Field(default=64, ge=1, description="Validation prompts to use (the first N).")
    max_tokens: int = Field(default=256, ge=1, description="Longest completion in tokens.")
    temperature: float = Field(default=1.0, ge=0.0, description="Sampling temperature (0 = greedy).")
    rewards: list[str] = Field(default_factory=list, description="Rewards to score besides the oracle (rewards.REWARDS names).")
    judge_tokens: int = Field(default=48, ge=1, description="Longest self_verify judge reply in tokens.")
    batch: int = Field(default=8, ge=1, description="Prompts per sampling and scoring step (also written together).")
    workers: int = Field(default=2, ge=1, description="Verifier worker processes (local pool).")
    out: str = Field(default="runs/eval", description="Output folder.")
    endpoint_model: str = Field(default="default", description="Model name the endpoint serves.")
    api: Literal["chat", "completions"] = Field(default="chat", description="Endpoint API.")
    chat_template: bool | None = Field(default=None, description="Local model: chat prompts; None = when the tokenizer has a template.")
    seed: int = Field(default=0, description="Torch seed for local sampling.")
    device: str = Field(default="auto", description="Local model: torch device (auto = cuda when available, else cpu).")

    @field_validator("rewards")
    @classmethod
    def _known_rewards(cls, names: list[str]) -> list[str]:
        from rewards import REWARDS

        unknown = [n for n in names if n not in REWARDS.names()]
        if unknown:
            raise ValueError(f"unknown reward(s) {unknown}; valid choices: {', '.join(REWARDS.names())}")
        return names

    @model_validator(mode="before")
    @classmethod
    def _organism_ranges(cls, data: Any) -> Any:
        return organism_task(data)

    @model_validator(mode="after")
    def _one_source(self) -> EvalConfig:
        if (self.model is None) == (self.completions is None):
            raise ValueError("give exactly one of model=... (sample it) or completions=FILE.jsonl (score it)")
        if "name" not in self.task:
            raise ValueError("task.* options need task=NAME")
        return self

    def is_endpoint(self) -> bool:
        return bool(self.model and self.model.startswith(("http://", "https://")))


def organism_task(data: Any) -> Any:
    """Fill ``task.*`` where the command line is silent, from what the model was trained on: an organism preset's
    countdown ranges (``model=tiny-countdown task=countdown`` then needs nothing more), or, for a checkpoint inside
    a run directory (``RUN/checkpoints/checkpoint-N``), the run's own ``config.yaml`` task of the same name."""
    task = data.get("task") if isinstance(data, dict) else None
    if not isinstance(task, dict) or not isinstance(data.get("model"), str):
        return data
    if task.get("name") == "countdown":
        from trainer.prior.config import PRESETS, preset

        if data["model"] in PRESETS:
            return {**data, "task": {**preset(data["model"]).task_options(), **task}}
    trained = run_task(data["model"])
    if trained and trained.get("name") == task.get("name"):
        return {**data, "task": {**trained, **task}}
    return data


def run_task(model: str) -> dict[str, Any] | None:
    """The ``task`` node of the run whose checkpoint ``model`` is (``RUN/checkpoints/checkpoint-N``), else None."""
    path = Path(model)
    config = path.parent.parent / "config.yaml"
    if path.parent.name != "checkpoints" or not path.name.startswith("checkpoint-") or not config.is_file():
        return None
    import yaml

    try:
        task = (yaml.safe_load(config.read_text()) or {}).get("task")
    except (yaml.YAMLError, UnicodeDecodeError, AttributeError):
        return None
    return {k: v for k, v in task.items() if v is not None} if isinstance(task, dict) else None


def parse_config(argv: list[str], model: type[BaseModel] = EvalConfig) -> Any:
    """The validated config of a command line (no model is loaded)."""
    return validate(model, parse_words(argv, list_keys=frozenset({"rewards"}), named_groups=frozenset({"task"})))


def make_task_checked(options: dict[str, Any]):
    """The task the options name; a UsageError listing the task's valid options otherwise."""
    from pydantic import ValidationError

    from tasks import TASKS, make_task

    name = options["name"]
    if name not in TASKS.names():
        raise UsageError(f"unknown task {name!r}; valid choices: {', '.join(TASKS.names())}")
    try:
        return make_task(name, {k: v for k, v in options.items() if k != "name"})
    except ValidationError as exc:
        problems = "; ".join(f"task.{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise UsageError(f"{problems}\nvalid task.* keys: {', '.join(k for k in TASKS.get(name).Config.model_fields if k != 'name')}") from None


def build_rewards(names: Sequence[str], task: Any) -> dict[str, Any]:
    """The named rewards with their defaults; self_verify takes its judge from the source (``bind(source)``)."""
    from rewards import REWARDS

    out = {}
    for name in names:
        try:
            out[name] = REWARDS.get(name)({"name": name}, task, pool={"backend": "local", "workers": 1},
                                          judge_factory=_source_judge)
        except (ValueError, TypeError) as exc:
            raise UsageError(f"reward {name}: {str(exc).splitlines()[0]}") from None
    return out


def _source_judge(source: Any) -> Any:
    return source.judge()


def make_source(cfg: Any, task: Any) -> Any:
    """The completion source the config names (this is where a model loads)."""
    from trainer.eval_sources import EndpointSource, JsonlSource, LocalSource

    if getattr(cfg, "completions", None) is not None:
        return JsonlSource(cfg.completions)
    if cfg.is_endpoint():
        return EndpointSource(cfg.model, cfg.endpoint_model, task, cfg.max_tokens, cfg.temperature, cfg.judge_tokens, api=cfg.api)
    from trainer.models import resolve_model

    return LocalSource(resolve_model(cfg.model), task, cfg.max_tokens, cfg.temperature, cfg.batch, cfg.judge_tokens,
                       chat_template=cfg.chat_template, seed=cfg.seed, device=cfg.device)


def row_id(index: int, row: dict[str, Any]) -> str:
    """A stable id for a row: its position and a digest of its fields (a changed dataset does not resume)."""
    digest = hashlib.sha1(json.dumps(row, sort_keys=True, default=str).encode()).hexdigest()[:10]
    return f"{index}-{digest}"


def score_chunk(rows: list[dict[str, Any]], ids: list[str], samples: list[list[Any]], pool: Any,
                rewards: dict[str, Any], usable: dict[str, bool]) -> list[dict[str, Any]]:
    """One record per sample of ``rows``: oracle verdict and each reward's score (None where n/a or masked)."""
    flat_rows = [r for r, group in zip(rows, samples) for _ in group]
    flat_ids = [i for i, group in zip(ids, samples) for _ in group]
    flat = [s for group in samples for s in group]
    texts = [s.text for s in flat]
    verdicts = pool.verify_batch(flat_rows, texts) if flat else []
    keys = sorted(set.intersection(*(set(r) for r in flat_rows))) if flat_rows else []
    columns = {k: [r[k] for r in flat_rows] for k in keys if k not in ("prompt", "completion", "completion_ids")}
    if flat and all(s.stats is not None for s in flat):
        columns["policy_stats"] = [s.stats for s in flat]
    scores: dict[str, list[float | None]] = {}
    for name, reward in rewards.items():
        scores[name] = list(reward(prompts=flat_ids, completions=texts, **columns)) if usable[name] and flat else [None] * len(flat)
        reward.metrics()  # counters are per call here; reset them
    records = []
    index_in_row: dict[str, int] = {}
    for j, (rid, row, sample, verdict) in enumerate(zip(flat_ids, flat_rows, flat, verdicts)):
        k = index_in_row[rid] = index_in_row.get(rid, -1) + 1
        records.append({"row_id": rid, "sample": k, "completion": sample.text, "tokens": sample.tokens,
                        "oracle": {"status": verdict.status, "score": verdict.score, "reason": verdict.reason},
                        "rewards": {name: _clean(scores[name][j]) for name in rewards}, "row": row, **sample.extra})
    return records


def _clean(value: Any) -> float | None:
    if value is None:
        return None
    value = float(value)
    return None if value != value else value  # NaN -> None


def summarize(records: list[dict[str, Any]], ids: list[str], k: int, rewards: dict[str, Any],
              usable: dict[str, bool]) -> dict[str, Any]:
    """mean@k, pass@1 and pass@k, verdict counts and reward agreement over the records of rows ``ids``."""
    by_row: dict[str, list[dict[str, Any]]] = {}
    for r in records:
        by_row.setdefault(r["row_id"], []).append(r)
    chosen = [s for i in ids for s in by_row.get(i, [])]
    groups = [[s["oracle"]["status"] == "correct" for s in by_row.get(i, []) if s["oracle"]["score"] is not None] for i in ids]
    counts = {st: sum(s["oracle"]["status"] == st for s in chosen) for st in ("correct", "incorrect", "error", "timeout")}
    truth = [None if s["oracle"]["score"] is None else s["oracle"]["status"] == "correct" for s in chosen]
    agreement = {}
    for name, reward in rewards.items():
        if not usable[name]:
            agreement[name] = {"n": 0, "accuracy": None, "auroc": None, "available": False}
            continue
        a = reward_agreement([s["rewards"].get(name) for s in chosen], truth)
        if not getattr(reward, "binary", False):
            a["accuracy"] = None  # a continuous score has no natural threshold
        agreement[name] = {**a, "available": True}
    return {"prompts": len(ids), "samples": len(chosen), "k": k, f"mean@{k}": mean_at_k(groups), "pass@1": mean_pass_at_k(groups, 1),
            f"pass@{k}": mean_pass_at_k(groups, k), "verdicts": counts, "rewards": agreement}


def table(summary: dict[str, Any], title: str) -> str:
    """The summary as a small markdown table."""
    k, v = summary["k"], summary["verdicts"]
    lines = [f"## {title}", "", f"{summary['prompts']} prompts, {summary['samples']} samples (k={k})", "",
             "| metric | value |", "|---|---|"]
    for key in dict.fromkeys((f"mean@{k}", "pass@1", f"pass@{k}")):  # k=1: pass@1 once
        lines.append(f"| {key} | {fmt(summary[key])} |")
    lines += [f"| {st} | {v[st]} |" for st in ("correct", "incorrect", "error", "timeout")]
    if summary["rewards"]:
        lines += ["", "| reward | n | accuracy vs oracle | AUROC vs oracle |", "|---|---|---|---|"]
        for name, a in summary["rewards"].items():
            if not a["available"]:
                lines.append(f"| {name} | n/a | n/a (needs a local model) | n/a |")
            else:
                lines.append(f"| {name} | {a['n']} | {fmt(a['accuracy'])} | {fmt(a['auroc'])} |")
    return "\n".join(lines) + "\n"


def reward_usable(rewards: dict[str, Any], source: Any) -> dict[str, bool]:
    """Whether each reward can score this source: intrinsic ones need statistics, self_verify a judge."""
    out = {}
    for name, reward in rewards.items():
        ok = source.has_stats or not reward.needs_policy_stats
        if ok and _needs_judge(reward):
            ok = source.judge() is not None
            if ok:
                reward.bind(source)
        out[name] = ok
    return out


def _needs_judge(reward: Any) -> bool:
    parts = getattr(reward, "parts", None)
    if isinstance(parts, dict):
        return any(_needs_judge(p) for p in parts.values())
    return bool(getattr(reward, "needs_judge", False))


def run(cfg: EvalConfig, log: Any = print) -> dict[str, Any]:
    """Sample (or read), score, write and summarise; returns the summary."""
    from tqdm import tqdm

    from verifiers.pool import make_pool

    task = make_task_checked(cfg.task)
    rewards = build_rewards(cfg.rewards, task)
    store = SampleStore(Path(cfg.out), SAMPLES_FILE, {k: getattr(cfg, k) for k in SAME_RUN_KEYS})
    source = make_source(cfg, task)
    rows = source.task_rows() if cfg.completions is not None else task.rows("validation")
    rows = rows[: cfg.prompts]
    ids = [row_id(i, r) for i, r in enumerate(rows)]
    k = cfg.samples if cfg.completions is None else min((len(g) for g in source.sample(rows)), default=1)
    usable = reward_usable(rewards, source)
    done = store.complete_rows(k if cfg.completions is None else 1)
    todo = [i for i, rid in enumerate(ids) if rid not in done]
    pool = make_pool(task.verifier, task.verifier_config(), backend="local", workers=cfg.workers)
    try:
        with tqdm(total=len(rows), initial=len(rows) - len(todo), desc="eval", unit="prompt", file=sys.stderr) as bar:
            for start in range(0, len(todo), cfg.batch):
                chunk = todo[start : start + cfg.batch]
                chunk_rows = [rows[i] for i in chunk]
                records = score_chunk(chunk_rows, [ids[i] for i in chunk], source.sample(chunk_rows, cfg.samples), pool, rewards, usable)
                store.append(records)
                bar.update(len(chunk))
    finally:
        pool.close()
        for reward in rewards.values():
            reward.close()
    summary = {**summarize(store.records(), ids, k, rewards, usable), "sampled_prompts": len(todo)}
    text = table(summary, f"{cfg.model or cfg.completions} on {cfg.task['name']}")
    (Path(cfg.out) / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    (Path(cfg.out) / "table.md").write_text(text)
    log(text)
    return summary


def main(argv: list[str] | None = None) -> int:
    return run_command("trainer.eval", parse_config, run, argv)


if __name__ == "__main__":
    raise SystemExit(main())
