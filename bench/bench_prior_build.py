"""SFT step time and padded length of an organism build, the build's settings beside the old ones, in one run.

The old settings are TRL's defaults (bf16 autocast, random batches) with subnormal floats left alone.

    python bench/bench_prior_build.py [--preset tiny-countdown] [--steps 24] [--rounds 2] [--problems 1500]

Builds the stage-1 corpus, tokenizer and model of ``--preset`` as ``trainer.prior.build`` does (with
``--problems`` corpus problems, to keep it short), then, for each setting, measures the padded batch length over
one whole epoch (collation only) and trains a fresh model for ``--steps`` SFT steps; the settings take turns for
``--rounds`` rounds so that a change in the machine's load hits them alike. Prints per setting the median step
time (the first two steps of each run left out), its ratio to the old settings', the mean padded and real
lengths, and the threads used. The thread rows depend on what else the machine runs: note the load average.
"""

from __future__ import annotations

import argparse
import inspect
import os
import statistics
import tempfile
import time
from pathlib import Path

SETTINGS: dict[str, dict] = {
    "old: bf16 (TRL default), subnormals, random": {"threads": 1, "bucketed": False, "bf16": True, "flush": False},
    "1 thread, fp32, subnormals kept, buckets": {"threads": 1, "bucketed": True, "bf16": False, "flush": False},
    "1 thread, fp32, flushed, buckets": {"threads": 1, "bucketed": True, "bf16": False, "flush": True},
    "new: governed threads, fp32, flushed": {"threads": None, "bucketed": True, "bf16": False, "flush": True},
}
"""bf16: TRL's SFTConfig default (autocast; no bf16 units on these CPUs). flush: subnormal floats flushed to zero
(``trainer.numerics``), as the build does."""


def corpus(preset_name: str, problems: int):
    """(prior, stage-1 rows, tokenizer) as the build makes them."""
    from trainer.prior.build import heldout_and_exclusions
    from trainer.prior.config import preset
    from trainer.prior.corpus import build_corpus
    from trainer.prior.tokenizer import build_tokenizer

    prior = preset(preset_name, corpus_problems=problems)
    _, exclude = heldout_and_exclusions(prior)
    rows, _ = build_corpus(prior, exclude)
    if "texts" in inspect.signature(build_tokenizer).parameters:  # the corpus-sized vocabulary (version 5 on)
        tokenizer = build_tokenizer([r["prompt"] + r["completion"] for r in rows], prior.model.max_position_embeddings)
    else:
        tokenizer = build_tokenizer(prior.model.max_position_embeddings)
    return prior, rows, tokenizer


def epoch_lengths(trainer) -> tuple[float, float]:
    """Mean padded length and mean real row length of the batches of one epoch."""
    padded, real = [], []
    for batch in trainer.get_train_dataloader():
        padded.append(batch["input_ids"].shape[1])
        real.append(float(batch["attention_mask"].sum()) / batch["input_ids"].shape[0])
    return statistics.mean(padded), statistics.mean(real)


def run_setting(prior, rows, tokenizer, setting: dict, steps: int, out: Path) -> dict:
    """Step times, epoch lengths and thread choices of one short SFT run; also the tokenized rows for reuse."""
    import torch
    from transformers import TrainerCallback

    from trainer.numerics import flush_denormals
    from trainer.prior.model import build_model
    from trainer.prior.sft import ThreadGovernor, sft_trainer

    torch.set_num_threads(setting["threads"] or os.cpu_count() or 1)
    model = build_model(prior.model, tokenizer, seed=prior.seed)
    options = prior.sft.model_copy(update={"max_steps": steps})
    trainer = sft_trainer(model, tokenizer, rows, options, prior.model.max_position_embeddings, out, prior.seed,
                          bucketed=setting["bucketed"], logging_steps=10_000, bf16=setting["bf16"])
    padded, real = epoch_lengths(trainer)
    times: list[float] = []

    class Clock(TrainerCallback):
        def on_step_begin(self, args, state, control, **kw):
            self.t = time.perf_counter()

        def on_step_end(self, args, state, control, **kw):
            times.append(time.perf_counter() - self.t)

    governor = None if setting["threads"] else ThreadGovernor(torch.get_num_threads(), every=8)
    for cb in (governor, Clock()):  # the governor's check runs before the clock starts
        if cb is not None:
            trainer.add_callback(cb)
    if setting["flush"]:
        with flush_denormals():
            trainer.train()
    else:
        trainer.train()
    threads = governor.choices if governor else [setting["threads"]]
    return {"t": times[2:], "pad": [padded], "real": [real], "threads": threads, "data": trainer.train_dataset}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--preset", default="tiny-countdown")
    ap.add_argument("--steps", type=int, default=24)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--problems", type=int, default=1500, help="corpus problems (the preset's own count builds slowly)")
    args = ap.parse_args()
    import torch
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()
    start = time.perf_counter()
    prior, rows, tokenizer = corpus(args.preset, args.problems)
    load = os.getloadavg()[0]
    print(f"corpus: {len(rows)} rows in {time.perf_counter() - start:.1f} s; torch {torch.__version__}, "
          f"{os.cpu_count()} CPUs, load average {load:.2f}", flush=True)
    results = {name: {"t": [], "pad": [], "real": [], "threads": []} for name in SETTINGS}
    data = rows
    with tempfile.TemporaryDirectory() as tmp:
        for _ in range(args.rounds):
            for name, setting in SETTINGS.items():
                r = run_setting(prior, data, tokenizer, setting, args.steps, Path(tmp))
                data = r.pop("data")
                for key, value in r.items():
                    results[name][key] += value
    base = statistics.median(results[next(iter(SETTINGS))]["t"])
    print(f"\n{args.preset}: batch {prior.sft.batch_size}, {args.steps} steps x {args.rounds} rounds per setting; "
          f"load average {load:.2f} before, {os.getloadavg()[0]:.2f} after")
    print(f"{'setting':40s} {'s/step':>7s} {'vs old':>7s} {'padded len':>11s} {'real len':>9s}  threads used")
    for name, r in results.items():
        med = statistics.median(r["t"])
        print(f"{name:40s} {med:7.3f} {med / base:6.2f}x {statistics.mean(r['pad']):11.1f} {statistics.mean(r['real']):9.1f}  "
              f"{r['threads']}")


if __name__ == "__main__":
    main()
