"""Build a model organism: corpus -> tokenizer + fresh Llama -> TRL SFT -> card; cached by a hash of its config."""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

from trainer.prior.config import PriorConfig

HELDOUT_SEED = 99_991
JUDGE_SEED = 77_773
TASK_VAL_EXCLUDE = 512
"""The first this-many validation rows of the matching task (seed 0) never appear in the corpus."""
TASK_TRAIN_EXCLUDE = 2048
"""Nor do the first this-many training rows (seed 0): GRPO's ``task.train_size`` 128 and 2,048 are prefixes."""


def organism_dir(prior: PriorConfig, root: Path | None = None) -> Path:
    """Where the organism for ``prior`` is cached: ``cache_dir()/models/tiny-countdown-<alignment>-<hash>``."""
    from trainer.cache import cache_dir

    return (root or cache_dir() / "models") / prior.folder_name()


def ensure_organism(prior: PriorConfig, root: Path | None = None, force: bool = False, log: Any = print,
                    threads: int | None = None) -> Path:
    """The checkpoint folder for ``prior``, building it (minutes) on first use."""
    target = organism_dir(prior, root)
    if not force and (target / ".complete").exists():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    with open(target.parent / f".{target.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # concurrent first uses (a sweep's parallel jobs) build it once
        if not force and (target / ".complete").exists():
            return target
        _build_into(prior, target, log, threads)
    return target


def _build_into(prior: PriorConfig, target: Path, log: Any, threads: int | None) -> None:
    with tempfile.TemporaryDirectory(dir=target.parent, prefix=".build-") as tmp:
        staging = Path(tmp) / "model"
        build(prior, staging, log=log, threads=threads)
        (staging / ".complete").write_text(prior.model_dump_json() + "\n")
        if target.exists():
            shutil.rmtree(target)
        staging.rename(target)


def grpo_keys(prior: PriorConfig) -> set[tuple]:
    """(sorted nums, target) of the task's first validation and training rows at seed 0 (what GRPO runs use)."""
    from tasks.countdown import CountdownConfig, CountdownTask

    cfg = CountdownConfig(**{**prior.task_options(), "val_size": TASK_VAL_EXCLUDE, "train_size": TASK_TRAIN_EXCLUDE})
    task = CountdownTask(cfg)
    return {(tuple(sorted(r["nums"])), r["target"]) for split in ("validation", "train") for r in task.rows(split)}


def heldout_and_exclusions(prior: PriorConfig) -> tuple[list[dict], set[tuple]]:
    """Held-out card problems, and the keys the corpus must avoid (those plus the task's GRPO rows)."""
    from trainer.prior.corpus import key_of, problems_for

    exclude = grpo_keys(prior)
    heldout = problems_for(prior, prior.heldout_problems, seed=prior.seed + HELDOUT_SEED, exclude=exclude)
    return heldout, exclude | {key_of(r) for r in heldout}


def build(prior: PriorConfig, out: Path, log: Any = print, threads: int | None = None) -> dict[str, Any]:
    """Train the organism into ``out`` (model, tokenizer, corpus sample, card); returns the card.

    ``threads`` (default: ``$URLVR_WARMSTART_THREADS``) fixes torch's intra-op threads while building; unset, SFT
    uses torch's default (all cores, or ``$OMP_NUM_THREADS``) while that beats one thread on a CPU other jobs share
    (``trainer.prior.sft.ThreadGovernor``).
    """
    from trainer.numerics import flush_denormals
    from trainer.prior.sft import thread_budget

    with thread_budget(threads or int(os.environ.get("URLVR_WARMSTART_THREADS", "0")) or None), flush_denormals():
        return _build(prior, out, log)


def _build(prior: PriorConfig, out: Path, log: Any) -> dict[str, Any]:
    import torch

    from trainer.prior.card import measure, write_card
    from trainer.prior.corpus import build_corpus, key_of, violations
    from trainer.prior.gates import banner, check_gates
    from trainer.prior.model import build_model, count_parameters
    from trainer.prior.tokenizer import build_tokenizer

    start = time.perf_counter()
    heldout, exclude = heldout_and_exclusions(prior)
    rows, corpus_summary = build_corpus(prior, exclude)
    exclude |= {key_of(r) for r in rows}
    tokenizer = build_tokenizer([r["prompt"] + r["completion"] for r in rows], prior.model.max_position_embeddings)
    model = build_model(prior.model, tokenizer, seed=prior.seed)
    log(f"warmstart: {prior.folder_name()}: {count_parameters(model):,} parameters, vocabulary {len(tokenizer)}, "
        f"{len(rows)} stage-1 rows {corpus_summary}")
    model, sft_seconds, stage1_cached = _stage1(model, tokenizer, rows, prior, out, log)
    stage2, stage2_summary, stage2_seconds = _stage2(model, tokenizer, prior, rows, exclude, out, log)
    all_rows = rows + stage2
    bad = violations(all_rows)
    for line in bad[:5]:
        log(f"warmstart: corpus violation: {line}")
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)
    keep = ("prompt", "completion", "kind", "label", "source")
    (out / "corpus_sample.jsonl").write_text("".join(json.dumps({k: r[k] for k in keep if k in r}) + "\n" for r in rows[:100] + stage2[:100]))
    measure_start = time.perf_counter()
    metrics, records = measure(model, tokenizer, prior, heldout)
    (out / "card_samples.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    metrics["unused_vocab"] = _unused_vocab(tokenizer, all_rows)
    gates = check_gates(metrics, prior, len(bad))
    card = {
        "name": prior.folder_name(),
        "digest": prior.digest(),
        "prior": prior.model_dump(),
        "task": prior.task_options(),
        "parameters": count_parameters(model),
        "vocab_size": len(tokenizer),
        "corpus": corpus_summary,
        "stage2": stage2_summary,
        "corpus_violations": len(bad),
        "metrics": metrics,
        "gates": gates,
        "sft_seconds": round(sft_seconds, 1),
        "stage1_cached": stage1_cached,
        "stage2_seconds": round(stage2_seconds, 1),
        "card_seconds": round(time.perf_counter() - measure_start, 1),
        "build_seconds": round(time.perf_counter() - start, 1),
        "cpu_threads": torch.get_num_threads(),
        "load_average": os.getloadavg()[0] if hasattr(os, "getloadavg") else None,
    }
    write_card(out, card)
    j = metrics["judge_own_samples"]
    log(f"warmstart: built in {card['build_seconds']:.0f} s (stage 1 {sft_seconds:.0f} s, stage 2 {stage2_seconds:.0f} s): "
        f"pass@1 {metrics['pass@1']:.3f}, pass@{prior.card_samples} {metrics[f'pass@{prior.card_samples}']:.3f}, "
        f"judge on own samples TPR {j['true_positive_rate']} TNR {j['true_negative_rate']}, AUROC {metrics['auroc']}")
    log(banner(prior.folder_name(), gates))
    return card


def stage1_dir(prior: PriorConfig) -> Path:
    """Where the stage-1 model is kept, so organisms differing only in judge data or card share it."""
    from trainer.cache import cache_dir

    return cache_dir() / "models" / ".stage1" / f"{prior.task}-{prior.stage1_digest()}"


def _stage1(model: Any, tokenizer: Any, rows: list[dict], prior: PriorConfig, out: Path, log: Any) -> tuple[Any, float, bool]:
    """The stage-1 model: loaded when an earlier build with the same stage-1 config kept it, else trained and kept."""
    from transformers import AutoModelForCausalLM

    kept = stage1_dir(prior)
    vocab = _vocab_digest(tokenizer)
    if (kept / ".complete").exists():
        done = json.loads((kept / ".complete").read_text())
        if done.get("vocab") == vocab:
            log(f"warmstart: stage 1 reused from {kept}")
            return AutoModelForCausalLM.from_pretrained(kept).eval(), done["sft_seconds"], True
        log(f"warmstart: stage 1 at {kept} was trained with another vocabulary; training it again")
        shutil.rmtree(kept, ignore_errors=True)
    seconds = _sft(model, tokenizer, rows, prior, out, log)
    kept.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=kept.parent, prefix=".tmp-") as tmp:
        staging = Path(tmp) / "model"
        model.save_pretrained(staging)
        (staging / ".complete").write_text(json.dumps({"sft_seconds": round(seconds, 1), "vocab": vocab}) + "\n")
        if not kept.exists():
            staging.rename(kept)
    return model, seconds, False


def _vocab_digest(tokenizer: Any) -> str:
    """A hash of the token -> id map: a kept stage-1 model is reused only with the vocabulary it was trained on."""
    import hashlib

    return hashlib.sha256(json.dumps(sorted(tokenizer.get_vocab().items())).encode()).hexdigest()[:16]


def _stage2(model: Any, tokenizer: Any, prior: PriorConfig, rows: list[dict], exclude: set[tuple], out: Path,
            log: Any) -> tuple[list[dict], dict | None, float]:
    """Judge rows from the stage-1 model's own answers on fresh problems, trained with solve rows replayed."""
    import random

    from trainer.prior.corpus import problems_for
    from trainer.prior.onpolicy import sample_problems_needed, stage2_judge_rows

    if prior.judge_rows == 0:
        return [], None, 0.0
    start = time.perf_counter()
    rng = random.Random(prior.seed + 3)
    problems = problems_for(prior, sample_problems_needed(prior), seed=prior.seed + JUDGE_SEED, exclude=exclude)
    judge, summary = stage2_judge_rows(model, tokenizer, prior, problems, rng)
    solve_rows = [r for r in rows if r["kind"] == "solve"]
    replay = rng.sample(solve_rows, min(len(solve_rows), prior.replay_solve_rows))
    stage2 = judge + replay
    rng.shuffle(stage2)
    summary = {**summary, "problems": len(problems), "replayed_solve_rows": len(replay),
               "sampling_seconds": round(time.perf_counter() - start, 1)}
    log(f"warmstart: stage 2: {summary}")
    _sft(model, tokenizer, stage2, prior.model_copy(update={"sft": prior.judge_sft}), out, log)
    return stage2, summary, time.perf_counter() - start


def _unused_vocab(tokenizer: Any, rows: list[dict]) -> int:
    """Tokens of the vocabulary (pad, eos and unk aside) that no corpus row uses."""
    used: set[int] = set()
    for r in rows:
        used.update(tokenizer(r["prompt"] + r["completion"], add_special_tokens=False)["input_ids"])
    special = {tokenizer.pad_token_id, tokenizer.eos_token_id, tokenizer.unk_token_id}
    return len(set(range(len(tokenizer))) - used - special)


def _sft(model: Any, tokenizer: Any, rows: list[dict], prior: PriorConfig, out: Path, log: Any) -> float:
    """Train ``model`` on the prompt/completion rows with ``prior.sft`` (``trainer.prior.sft``); returns seconds."""
    from trainer.prior.sft import run_sft

    return run_sft(model, tokenizer, rows, prior.sft, prior.model.max_position_embeddings, out, prior.seed, log)
