"""CPU float settings for training and sampling: subnormal floats flushed to zero.

A freshly initialised or lightly trained small model produces subnormal values (below 1.2e-38) in its
activations and gradients; x86 CPUs handle those in microcode, and on this project's 2-core machines a tiny
organism's forward and backward ran about ten times slower with them (``bench/bench_prior_build.py``).
Flushing them to zero changes no result that matters: they are smaller than any float32 value a loss or
a probability can tell apart from 0.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator


@contextlib.contextmanager
def flush_denormals() -> Iterator[bool]:
    """Within the block, torch flushes subnormal floats to zero on CPU; yields whether the CPU supports it."""
    import torch

    supported = torch.set_flush_denormal(True)
    try:
        yield supported
    finally:
        torch.set_flush_denormal(False)
