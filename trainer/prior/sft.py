"""One SFT stage of an organism build: TRL's SFTTrainer on prompt/completion rows, set up for a tiny model on CPU.

What keeps a step cheap (measured by ``bench/bench_prior_build.py``):

- batches of rows of similar length, the batches in random order (:class:`LengthBuckets`), so a batch is padded
  to about its own rows' length instead of to the longest of 64 random rows;
- as many torch threads as actually help: on a CPU other jobs are using, a second thread that is not scheduled
  stalls every parallel op of the step, so :class:`ThreadGovernor` re-checks every few dozen steps whether all
  threads beat one, and uses the faster;
- float32 on CPU: TRL's ``SFTConfig`` turns bf16 autocast on by default, and on a CPU without bf16 units that
  made each step about ten times slower (with subnormal floats flushed, ``trainer.numerics``);
- no activation checkpointing (TRL's default), no saving, no dataloader workers.
"""

from __future__ import annotations

import contextlib
import contextvars
import dataclasses
import shutil
import statistics
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import torch
from transformers import TrainerCallback

from trainer.prior.config import SftOptions

_ADAPT_THREADS = contextvars.ContextVar("adapt_threads", default=True)


@contextlib.contextmanager
def thread_budget(threads: int | None) -> Iterator[None]:
    """Within the block, SFT uses exactly ``threads`` torch threads, or (None) adapts between 1 and torch's default."""
    previous = torch.get_num_threads()
    token = _ADAPT_THREADS.set(not threads)
    if threads:
        torch.set_num_threads(threads)
    try:
        yield
    finally:
        _ADAPT_THREADS.reset(token)
        torch.set_num_threads(previous)


def threads_help(threads: int, reps: int = 3) -> bool:
    """Whether ``threads`` torch threads run a burst of small ops (an SFT step's shape) clearly faster than one now."""
    x, w = torch.randn(64 * 64, 160), torch.randn(160, 448)
    previous = torch.get_num_threads()

    def burst(n: int) -> float:
        torch.set_num_threads(n)
        start = time.perf_counter()
        for _ in range(4):
            torch.nn.functional.silu(x @ w).sum()
        return time.perf_counter() - start

    try:
        one, many = zip(*((burst(1), burst(threads)) for _ in range(reps)))
    finally:
        torch.set_num_threads(previous)
    return statistics.median(one) / statistics.median(many) >= 1.25


class ThreadGovernor(TrainerCallback):
    """Uses ``threads`` torch threads while they beat one on this machine, else one.

    Checks at the start, every ``every`` steps, and after a step on several threads that took over ``slow`` times
    the recent median (another job has taken a core: each such step can cost several times a one-thread step).
    """

    def __init__(self, threads: int, every: int = 40, slow: float = 3.0) -> None:
        self.threads, self.every, self.slow = threads, every, slow
        self.choices: list[int] = []
        self._recent: list[float] = []
        self._recheck = False
        self._start = 0.0

    def _choose(self) -> None:
        n = self.threads if threads_help(self.threads) else 1
        self.choices.append(n)
        self._recent.clear()
        torch.set_num_threads(n)

    def on_train_begin(self, args, state, control, **kwargs):
        self._choose()

    def on_step_begin(self, args, state, control, **kwargs):
        if self._recheck or (state.global_step and state.global_step % self.every == 0):
            self._recheck = False
            self._choose()
        self._start = time.perf_counter()

    def on_step_end(self, args, state, control, **kwargs):
        seconds = time.perf_counter() - self._start
        recent = self._recent[-10:]
        if torch.get_num_threads() > 1 and len(recent) >= 5 and seconds > self.slow * statistics.median(recent):
            self._recheck = True
        self._recent.append(seconds)


class LengthBuckets(torch.utils.data.Sampler):
    """Row indices whose consecutive ``batch_size`` slices are batches of similar length, the batches in random order.

    Each epoch: a random permutation, cut into groups of ``group`` batches; each group sorted by length and cut
    into batches; the full batches shuffled (a short last batch goes last). Unlike transformers' length-grouped
    sampler, batch order does not sweep from long to short within each group.
    """

    def __init__(self, lengths: list[int], batch_size: int, seed: int, group: int = 50) -> None:
        self.lengths, self.batch_size, self.seed, self.group, self.epoch = lengths, batch_size, seed, group, 0

    def __len__(self) -> int:
        return len(self.lengths)

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __iter__(self) -> Iterator[int]:
        gen = torch.Generator().manual_seed(self.seed * 1_000_003 + self.epoch)
        perm = torch.randperm(len(self.lengths), generator=gen).tolist()
        size, b = self.group * self.batch_size, self.batch_size
        batches = []
        for start in range(0, len(perm), size):
            chunk = sorted(perm[start : start + size], key=self.lengths.__getitem__)
            batches += [chunk[i : i + b] for i in range(0, len(chunk), b)]
        short = [x for x in batches if len(x) < b]
        full = [x for x in batches if len(x) == b]
        order = torch.randperm(len(full), generator=gen).tolist()
        return iter([i for k in order for i in full[k]] + [i for x in short for i in x])


def sft_config(options: SftOptions, max_length: int, out: Path, seed: int, **overrides: Any) -> Any:
    """The TRL ``SFTConfig`` of one stage; ``overrides`` are SFTConfig fields (the bench uses them for baselines)."""
    from trl import SFTConfig

    fields = {f.name for f in dataclasses.fields(SFTConfig)}
    kwargs: dict[str, Any] = dict(
        output_dir=str(out / "_sft"),
        num_train_epochs=options.epochs,
        max_steps=options.max_steps,
        per_device_train_batch_size=options.batch_size,
        learning_rate=options.learning_rate,
        lr_scheduler_type="cosine",
        warmup_steps=options.warmup_ratio,
        weight_decay=options.weight_decay,
        max_length=max_length,
        logging_steps=20,
        save_strategy="no",
        report_to=[],
        use_cpu=not torch.cuda.is_available(),
        bf16=torch.cuda.is_available(),  # TRL's SFTConfig defaults to bf16: on a CPU without bf16 units each step ran ~10x slower
        seed=seed,
        data_seed=seed,
        disable_tqdm=True,
        dataloader_num_workers=0,
        dataset_num_proc=None,
    )
    # TRL turns checkpointing on by default; for a tiny model it only costs time. transformers 5 renamed the flag.
    kwargs["activation_checkpointing" if "activation_checkpointing" in fields else "gradient_checkpointing"] = False
    kwargs.update(overrides)
    return SFTConfig(**kwargs)


def sft_trainer(model: Any, tokenizer: Any, rows: Any, options: SftOptions, max_length: int, out: Path, seed: int,
                bucketed: bool = True, **overrides: Any) -> Any:
    """An ``SFTTrainer`` over ``rows`` (dicts with ``prompt`` and ``completion``, or a Dataset TRL already tokenized).

    ``bucketed=False`` draws batches at random (TRL's default), for the bench's baseline.
    """
    from datasets import Dataset
    from trl import SFTTrainer

    class BucketedSFTTrainer(SFTTrainer):
        def _get_train_sampler(self, train_dataset: Any = None) -> Any:  # transformers' hook for the sampler
            data = self.train_dataset if train_dataset is None else train_dataset
            lengths = [len(ids) for ids in data["input_ids"]]
            return LengthBuckets(lengths, self.args.per_device_train_batch_size, seed)

    data = rows if isinstance(rows, Dataset) else Dataset.from_list([{"prompt": r["prompt"], "completion": r["completion"]} for r in rows])
    args = sft_config(options, max_length, out, seed, **overrides)
    cls = BucketedSFTTrainer if bucketed else SFTTrainer
    return cls(model=model, args=args, train_dataset=data, processing_class=tokenizer)


def run_sft(model: Any, tokenizer: Any, rows: list[dict], options: SftOptions, max_length: int, out: Path, seed: int,
            log: Any = print) -> float:
    """Train ``model`` on the rows (completion-only loss), leave it in eval mode; returns the seconds spent training."""
    trainer = sft_trainer(model, tokenizer, rows, options, max_length, out, seed)
    most = torch.get_num_threads()
    governor = ThreadGovernor(most) if _ADAPT_THREADS.get() and most > 1 else None
    if governor:
        trainer.add_callback(governor)
    start = time.perf_counter()
    result = trainer.train()
    seconds = time.perf_counter() - start
    if governor:
        torch.set_num_threads(most)
    threads = (f"{most} threads at {sum(c > 1 for c in governor.choices)} of {len(governor.choices)} checks, else 1"
               if governor else f"{most} thread(s)")
    log(f"warmstart: SFT {result.global_step} steps in {seconds:.0f} s ({seconds / max(1, result.global_step):.2f} s/step, "
        f"{threads}), final loss {result.training_loss:.4f}")
    shutil.rmtree(out / "_sft", ignore_errors=True)
    model.eval()
    return seconds
