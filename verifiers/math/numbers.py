"""Numeric equality for parsed answers: exact where the values are exact, rounding only for a written decimal.

- exact numbers compare exactly (rationals) or at 50 digits (``1/2^{99}`` is not ``1/2^{98}``);
- a whole answer written as a plain decimal matches an exact value when it is that value correctly rounded to
  the decimal's own places and has at least ``min_sig_digits`` significant digits (``33.3`` ~ ``100/3``), unless
  the exact value has a finite decimal form, which must then be written exactly (``0.13`` is not ``1/8``). The
  check is exact for rationals and carried at more digits than the decimal has otherwise, so every written
  digit counts (a 64-digit decimal of ``1/3`` with a wrong last digit fails);
- decimals inside expressions are read as the exact values written (``2.9999999 + 0`` is not ``3``).
"""

from __future__ import annotations

from fractions import Fraction

import sympy

EXACT_DIGITS = 50


class ComparisonError(Exception):
    """The comparison itself failed (not a mismatch)."""


def exact_floats(expr):
    """Replace each Float (latex2sympy's reading of a decimal literal) by the exact Rational it was written as."""
    floats = expr.atoms(sympy.Float) if hasattr(expr, "atoms") else set()
    return expr.xreplace({f: sympy.Rational(str(f)) for f in floats}) if floats else expr


def is_number(expr) -> bool:
    return isinstance(expr, sympy.Expr) and not isinstance(expr, sympy.MatrixBase) and expr.is_number and not expr.has(sympy.oo, -sympy.oo)


def numbers_equal(g, g_decimals: int | None, p, p_decimals: int | None, min_sig_digits: int = 3) -> bool:
    """Numeric equality: exact, or a written decimal (``*_decimals`` places) that correctly rounds the other value."""
    if g_decimals is not None and p_decimals is not None:
        return g == p  # two decimals as written: equal values only
    if p_decimals is not None:
        return rounds_to(g, p, p_decimals, min_sig_digits)
    if g_decimals is not None:
        return rounds_to(p, g, g_decimals, min_sig_digits)
    g, p = evaluate(g), evaluate(p)
    if isinstance(g, sympy.Rational) and isinstance(p, sympy.Rational):
        return g == p
    return close(g, p, EXACT_DIGITS)


def close(a, b, digits: int) -> bool:
    """|a - b| within 10^-(digits - 10) of their magnitude, evaluated at ``digits`` significant digits."""
    av, bv = n(a, digits), n(b, digits)
    return bool(abs(av - bv) <= sympy.Float(10, digits) ** (10 - digits) * max(abs(av), abs(bv)))


def evaluate(expr):
    """Carry out the arithmetic latex2sympy leaves unevaluated (``1/2**99`` -> Rational); guards bound its size."""
    try:
        return expr.doit()
    except Exception:
        return expr


def rounds_to(exact, decimal, places: int, min_sig_digits: int) -> bool:
    """True when ``decimal`` (a Rational written with ``places`` decimals) is ``exact`` correctly rounded."""
    exact = evaluate(exact)
    digits = max(EXACT_DIGITS, places + len(str(abs(int(decimal)))) + 20)
    if exact == decimal:
        return True
    if isinstance(exact, sympy.Rational):
        if terminates(exact):
            return False  # a value with a finite decimal form must be written exactly
        error = abs(_fraction(exact) - _fraction(decimal))
        return significant_digits(decimal, places) >= min_sig_digits and error <= Fraction(1, 2 * 10**places)
    if close(exact, decimal, digits):  # an exact value in disguise (\log_2 8 and 3.0)
        return True
    if significant_digits(decimal, places) < min_sig_digits:
        return False
    half_ulp = sympy.Rational(1, 2 * 10**places)
    return bool(abs(n(exact, digits) - n(decimal, digits)) <= n(half_ulp, digits))


def _fraction(r: sympy.Rational) -> Fraction:
    return Fraction(int(r.p), int(r.q))


def terminates(r: sympy.Rational) -> bool:
    q = int(r.q)
    for prime in (2, 5):
        while q % prime == 0:
            q //= prime
    return q == 1


def significant_digits(decimal: sympy.Rational, places: int) -> int:
    scaled = abs(_fraction(decimal) * 10**places)
    return len(str(int(scaled)).lstrip("0")) if scaled else 0


def n(expr, digits: int = EXACT_DIGITS):
    """Numeric value at ``digits`` significant digits; a complex result keeps its magnitude meaningful for abs()."""
    try:
        value = sympy.N(expr, digits)
    except Exception as exc:
        raise ComparisonError(f"cannot evaluate {type(exc).__name__}: {exc}"[:200]) from exc
    if not value.is_number:
        raise ComparisonError("value is not numeric after evaluation")
    return value


def numeric_collection(expr) -> bool:
    return isinstance(expr, (sympy.FiniteSet, sympy.Tuple)) and all(is_number(e) for e in expr.args)


def collections_equal(g, p, min_sig_digits: int) -> bool:
    """Tuples compare in order, sets as multisets, element by element with the numeric rule."""
    if type(g) is not type(p) or len(g.args) != len(p.args):
        return False
    if isinstance(g, sympy.Tuple):
        return all(numbers_equal(a, None, b, None, min_sig_digits) for a, b in zip(g.args, p.args))
    remaining = list(p.args)
    for a in g.args:
        match = next((b for b in remaining if numbers_equal(a, None, b, None, min_sig_digits)), None)
        if match is None:
            return False
        remaining.remove(match)
    return True
