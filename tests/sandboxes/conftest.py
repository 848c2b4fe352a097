"""A real bwrap sandbox shared by the sandbox tests (the helper that runs Python in it: tests/sandbox_support.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from sandboxes import Sandbox, make_sandbox


@pytest.fixture(scope="module")
def bwrap() -> Iterator[Sandbox]:
    with make_sandbox("bwrap") as sb:
        yield sb

