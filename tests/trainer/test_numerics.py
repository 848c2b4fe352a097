"""trainer.numerics: subnormal floats flushed to zero inside the block, nested blocks included, and restored after."""

import pytest
import torch

from trainer.numerics import flush_denormals

SUBNORMAL = 1e-44  # below float32's smallest normal (1.2e-38), above its smallest subnormal (1.4e-45)


def _kept() -> bool:
    return torch.tensor([SUBNORMAL], dtype=torch.float32).item() != 0.0


def test_flushes_inside_nested_blocks_and_restores_after():
    assert _kept()
    with flush_denormals() as supported:
        if not supported:
            pytest.skip("this CPU cannot flush subnormals (torch.set_flush_denormal returned False)")
        assert not _kept()
        with flush_denormals():
            assert not _kept()
        assert not _kept()  # the inner block's exit leaves the outer one flushing
    assert _kept()
