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
TASK_VAL_EXCLUDE = 256
"""The first this-many validation rows of the matching task (seed 0) never appear in the corpus."""


def organism_dir(prior: PriorConfig, root: Path | None = None) -> Path:
    """Where the organism for ``prior`` is cached: ``cache_dir()/models/tiny-countdown-<alignment>-<hash>``."""
    from trainer.models import cache_dir

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


def heldout_and_exclusions(prior: PriorConfig) -> tuple[list[dict], set[tuple]]:
    """Held-out card problems, and the keys the corpus must avoid (those plus the task's validation rows)."""
    from tasks.countdown import CountdownConfig, CountdownTask
    from trainer.prior.corpus import problems_for

    val_cfg = CountdownConfig(**{**prior.task_options(), "val_size": TASK_VAL_EXCLUDE})
    exclude = {(tuple(sorted(r["nums"])), r["target"]) for r in CountdownTask(val_cfg).rows("validation")}
    heldout = problems_for(prior, prior.heldout_problems, seed=prior.seed + HELDOUT_SEED, exclude=exclude)
    exclude |= {(tuple(sorted(r["nums"])), r["target"]) for r in heldout}
    return heldout, exclude


def build(prior: PriorConfig, out: Path, log: Any = print, threads: int | None = None) -> dict[str, Any]:
    """Train the organism into ``out`` (model, tokenizer, corpus sample, card); returns the card.

    ``threads`` (default: ``$URLVR_WARMSTART_THREADS``, else 1) bounds torch's intra-op threads while building:
    on a CPU shared with other jobs, one thread avoids the stalls that two contended threads suffer.
    """
    import torch

    previous = torch.get_num_threads()
    torch.set_num_threads(threads or int(os.environ.get("URLVR_WARMSTART_THREADS", "1")))
    try:
        return _build(prior, out, log)
    finally:
        torch.set_num_threads(previous)


def _build(prior: PriorConfig, out: Path, log: Any) -> dict[str, Any]:
    import torch

    from trainer.prior.card import measure, write_card
    from trainer.prior.corpus import build_corpus
    from trainer.prior.model import build_model, count_parameters
    from trainer.prior.tokenizer import build_tokenizer

    start = time.perf_counter()
    heldout, exclude = heldout_and_exclusions(prior)
    rows, corpus_summary = build_corpus(prior, exclude)
    tokenizer = build_tokenizer(prior.model.max_position_embeddings)
    model = build_model(prior.model, tokenizer, seed=prior.seed)
    log(f"warmstart: {prior.folder_name()}: {count_parameters(model):,} parameters, {len(rows)} SFT rows {corpus_summary}")
    sft_seconds = _sft(model, tokenizer, rows, prior, out, log)
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)
    (out / "corpus_sample.jsonl").write_text("".join(json.dumps({k: r[k] for k in ("prompt", "completion", "kind", "correct")}) + "\n" for r in rows[:200]))
    measure_start = time.perf_counter()
    metrics = measure(model, tokenizer, prior, heldout)
    card = {
        "name": prior.folder_name(),
        "prior": prior.model_dump(),
        "task": prior.task_options(),
        "parameters": count_parameters(model),
        "corpus": corpus_summary,
        "metrics": metrics,
        "sft_seconds": round(sft_seconds, 1),
        "card_seconds": round(time.perf_counter() - measure_start, 1),
        "build_seconds": round(time.perf_counter() - start, 1),
        "cpu_threads": torch.get_num_threads(),
        "load_average": os.getloadavg()[0] if hasattr(os, "getloadavg") else None,
    }
    write_card(out, card)
    log(f"warmstart: built in {card['build_seconds']:.0f} s (SFT {sft_seconds:.0f} s): pass@1 {metrics['pass@1']:.3f}, "
        f"pass@{prior.card_samples} {metrics[f'pass@{prior.card_samples}']:.3f}, self-certainty AUROC {metrics['auroc']['self_certainty']}, "
        f"self-verification {metrics['self_verification']['accuracy']:.3f}")
    return card


def _sft(model: Any, tokenizer: Any, rows: list[dict], prior: PriorConfig, out: Path, log: Any) -> float:
    """Train ``model`` on the prompt/completion rows with TRL's SFTTrainer (completion-only loss); returns seconds."""
    import torch
    from datasets import Dataset
    from trl import SFTConfig, SFTTrainer

    s = prior.sft
    data = Dataset.from_list([{"prompt": r["prompt"], "completion": r["completion"]} for r in rows])
    args = SFTConfig(
        output_dir=str(out / "_sft"),
        num_train_epochs=s.epochs,
        max_steps=s.max_steps,
        per_device_train_batch_size=s.batch_size,
        learning_rate=s.learning_rate,
        lr_scheduler_type="cosine",
        warmup_steps=s.warmup_ratio,
        weight_decay=s.weight_decay,
        max_length=prior.model.max_position_embeddings,
        logging_steps=20,
        save_strategy="no",
        report_to=[],
        use_cpu=not torch.cuda.is_available(),
        seed=prior.seed,
        data_seed=prior.seed,
        disable_tqdm=True,
        dataloader_num_workers=0,
        dataset_num_proc=None,
        gradient_checkpointing=False,  # TRL turns it on by default; for a tiny model it only costs time
    )
    trainer = SFTTrainer(model=model, args=args, train_dataset=data, processing_class=tokenizer)
    start = time.perf_counter()
    result = trainer.train()
    seconds = time.perf_counter() - start
    log(f"warmstart: SFT {result.global_step} steps in {seconds:.0f} s, final loss {result.training_loss:.4f}")
    shutil.rmtree(out / "_sft", ignore_errors=True)
    model.eval()
    return seconds
