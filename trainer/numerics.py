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


_depth = 0
"""How many ``flush_denormals`` blocks are open: only the outermost one turns flushing off again."""


@contextlib.contextmanager
def flush_denormals() -> Iterator[bool]:
    """Within the block, torch flushes subnormal floats to zero on CPU; yields whether the CPU supports it.

    Blocks nest (a build inside a run): torch has no getter for the mode, so a depth count keeps an inner block's
    exit from turning flushing off under the outer one.
    """
    import torch

    global _depth
    supported = torch.set_flush_denormal(True)
    _depth += 1
    try:
        yield supported
    finally:
        _depth -= 1
        if not _depth:
            torch.set_flush_denormal(False)
