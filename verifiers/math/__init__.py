"""The ``math`` verifier: the last ``\\boxed{}`` answer against a ground-truth ``answer``, compared with sympy.

``MathVerifier`` is imported lazily so that the cheap string helpers in ``verifiers.math.extract`` (used by the
math task for answer extraction and majority-vote keys) do not pull in sympy and Math-Verify.
"""

from __future__ import annotations

from typing import Any

__all__ = ["MathVerifier", "MathVerifierConfig"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from verifiers.math import verifier

        return getattr(verifier, name)
    raise AttributeError(f"module 'verifiers.math' has no attribute {name!r}")
