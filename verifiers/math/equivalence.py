"""Decide whether a predicted answer equals the gold answer: Math-Verify's comparison plus a stricter numeric layer.

Answers are parsed only as LaTeX (``latex2sympy2_extended``, as Math-Verify does), never with ``sympify`` or
``parse_expr``. On top of Math-Verify's ``verify`` (called with its signal-based timeout disabled):

- exact numbers compare exactly at 50 digits, so ``1/2^{99}`` is not ``1/2^{98}`` (Math-Verify rounds to 6 places);
- a decimal matches an exact value when it is that value correctly rounded to the decimal's own places and has
  at least ``min_sig_digits`` significant digits (``33.3`` ~ ``100/3``, ``3.1416`` ~ ``\\pi``), unless the exact
  value has a finite decimal form, which must then be written exactly (``0.13`` is not ``1/8``);
- percentages match either reading (``50\\%`` ~ ``50`` ~ ``0.5``);
- equations match when one is a nonzero multiple of the other (``x^2/4+y^2/3=1`` ~ ``3x^2+4y^2=12``).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from fractions import Fraction

import sympy
from latex2sympy2_extended import NormalizationConfig, latex2sympy, normalize_latex
from math_verify.grader import should_treat_as_complex
from math_verify.grader import verify as mv_verify

from verifiers.base import Verdict
from verifiers.math import extract
from verifiers.math.guards import Limits, refuse

# Math-Verify warns once that its timeout is disabled; the pool's process timeout is the bound here.
logging.getLogger("math_verify").setLevel(logging.ERROR)

_NORMALIZATION = NormalizationConfig(basic_latex=True, units=True, malformed_operators=True, nits=True, boxed="none", equations=False)
_EXACT_DIGITS = 50


class ComparisonError(Exception):
    """The comparison itself failed (not a mismatch): the verdict becomes ``error``."""


@dataclass(frozen=True)
class Value:
    """A parsed answer: the sympy object, the decimal places if it was written as a plain decimal, and its text."""

    expr: sympy.Basic | None
    decimals: int | None
    text: str
    percent: bool = False
    error: str = ""


def parse_answer(answer: str) -> Value:
    """Parse cleaned answer LaTeX. Plain numbers become exact Rationals; other text goes through latex2sympy."""
    body, percent = extract.split_percent(answer)
    number = extract.plain_number(body)
    if number is not None:
        return Value(sympy.Rational(number.numerator, number.denominator), _decimals(body), body, percent)
    try:
        normalized = normalize_latex(body, _NORMALIZATION)
        expr = latex2sympy(normalized, is_real=not should_treat_as_complex(normalized), convert_degrees=False, normalization_config=None)
    except RecursionError:
        return Value(None, None, body, percent, "nesting too deep to parse")
    except Exception as exc:  # latex2sympy raises many types for malformed LaTeX
        return Value(None, None, body, percent, f"{type(exc).__name__}: {str(exc).splitlines()[0][:120] if str(exc) else ''}")
    if should_treat_as_complex(normalized) and isinstance(expr, sympy.Basic):
        expr = expr.subs({s: sympy.I for s in expr.free_symbols if getattr(s, "name", "") == "i"})  # latex2sympy leaves the imaginary unit as a symbol
    if not isinstance(expr, (sympy.Basic, sympy.MatrixBase)):
        return Value(None, None, body, percent, f"parsed to a {type(expr).__name__}, not a math object")
    if isinstance(expr, sympy.Basic) and expr.has(sympy.zoo, sympy.nan):
        return Value(None, None, body, percent, "undefined value (division by zero or a ratio like 1:2)")
    return Value(expr, None, body, percent)


def _decimals(text: str) -> int | None:
    """Decimal places of a plain decimal literal (``"0.250"`` -> 3); None for integers and fractions."""
    text = text.strip()
    if "." not in text or "/" in text or "\\" in text:
        return None
    return len(text.split(".", 1)[1])


def judge(gold: str, pred: str, limits: Limits | None = Limits(), min_sig_digits: int = 3) -> Verdict:
    """The verdict for predicted answer ``pred`` (already extracted and cleaned) against ``gold``.

    ``limits=None`` skips the pre-screens (tests of the process timeout only)."""
    if extract.string_key(gold) == extract.string_key(pred):
        return Verdict.correct("answer text matches the gold answer")
    if limits is not None:
        why = refuse(pred, limits)
        if why:
            return Verdict.incorrect(f"answer refused before parsing: {why}")
        why = refuse(gold, limits)
        if why:
            return Verdict.error(f"gold answer refused before parsing: {why}")
    g, p = parse_answer(gold), parse_answer(pred)
    if p.expr is None:
        return Verdict.incorrect(f"answer {_short(pred)} does not parse ({p.error}) and differs from the gold text")
    if g.expr is None:
        return Verdict.incorrect(f"gold {_short(gold)} does not parse ({g.error}) and the answer text differs")
    failures = []
    for gv, pv in _percent_readings(g, p):
        try:
            if equivalent(gv, pv, min_sig_digits):
                return Verdict.correct(f"{_short(pred)} is equivalent to gold {_short(gold)}")
        except ComparisonError as exc:
            failures.append(str(exc))
    if failures:
        return Verdict.error(f"comparison failed: {failures[0]}"[:500])
    return Verdict.incorrect(f"{_short(pred)} is not equivalent to gold {_short(gold)}")


def _short(text: str, n: int = 60) -> str:
    return repr(text if len(text) <= n else text[: n - 3] + "...")


def _percent_readings(g: Value, p: Value) -> list[tuple[Value, Value]]:
    """Pairs to try: as written, and a percent read as a fraction of 100 (on whichever side wrote one)."""
    pairs = [(g, p)]
    if p.percent:
        pairs.append((g, _per_cent(p)))
    if g.percent:
        pairs.append((_per_cent(g), p))
    return pairs


def _per_cent(v: Value) -> Value:
    return replace(v, expr=v.expr / 100, decimals=None if v.decimals is None else v.decimals + 2)


def equivalent(g: Value, p: Value, min_sig_digits: int = 3) -> bool:
    """True when the two parsed answers are mathematically the same answer. Raises ComparisonError."""
    gx, px = _unwrap_assignment(g.expr, p.expr), _unwrap_assignment(p.expr, g.expr)
    if _is_number(gx) and _is_number(px):
        return numbers_equal(gx, g.decimals, px, p.decimals, min_sig_digits)
    if _numeric_collection(gx) and _numeric_collection(px):
        return _collections_equal(gx, px, min_sig_digits)
    set_vs_relation = isinstance(gx, sympy.Set) and isinstance(px, (sympy.Rel, sympy.And)) and len(px.free_symbols) == 1
    try:
        if mv_verify(gx, px, timeout_seconds=None, raise_on_error=True, allow_set_relation_comp=set_vs_relation):
            return True
    except Exception as exc:
        if not _proportional_equations(gx, px):
            raise ComparisonError(f"{type(exc).__name__} in math_verify: {exc}"[:300]) from exc
        return True
    return _proportional_equations(gx, px)


def _unwrap_assignment(expr, other):
    """``x = 3`` -> ``3`` when the other side is a plain number (a variable name is not part of the answer)."""
    if isinstance(expr, sympy.Eq) and isinstance(expr.lhs, sympy.Symbol) and _is_number(expr.rhs) and _is_number(other):
        return expr.rhs
    return expr


def _is_number(expr) -> bool:
    return isinstance(expr, sympy.Expr) and not isinstance(expr, sympy.MatrixBase) and expr.is_number and not expr.has(sympy.oo, -sympy.oo)


def numbers_equal(g, g_decimals: int | None, p, p_decimals: int | None, min_sig_digits: int = 3) -> bool:
    """Numeric equality: exact at 50 digits, or a decimal that correctly rounds the other (exact) value."""
    g_float, p_float = g.has(sympy.Float), p.has(sympy.Float)
    if g_decimals is not None and p_decimals is not None:
        return g == p  # two decimals as written: equal values only
    if p_decimals is not None and not g_float:
        return _rounds_to(g, p, p_decimals, min_sig_digits)
    if g_decimals is not None and not p_float:
        return _rounds_to(p, g, g_decimals, min_sig_digits)
    if g_float or p_float:  # a float hidden in an expression (2.5\pi): relative tolerance
        return _close(g, p, "1e-6")
    g, p = _evaluate(g), _evaluate(p)
    if isinstance(g, sympy.Rational) and isinstance(p, sympy.Rational):
        return g == p
    return _close(g, p, "1e-40")


def _close(a, b, rel_tol: str) -> bool:
    av, bv = _n(a), _n(b)
    return bool(abs(av - bv) <= sympy.Float(rel_tol, _EXACT_DIGITS) * max(abs(av), abs(bv)))


def _evaluate(expr):
    """Carry out the arithmetic latex2sympy leaves unevaluated (``1/2**99`` -> Rational); guards bound its size."""
    try:
        return expr.doit()
    except Exception:
        return expr


def _rounds_to(exact, decimal, places: int, min_sig_digits: int) -> bool:
    """True when ``decimal`` (a Rational written with ``places`` decimals) is ``exact`` correctly rounded."""
    exact = _evaluate(exact)
    if exact == decimal or (not isinstance(exact, sympy.Rational) and _close(exact, decimal, "1e-40")):
        return True
    if isinstance(exact, sympy.Rational) and _terminates(exact):
        return False  # a value with a finite decimal form must be written exactly
    if _significant_digits(decimal, places) < min_sig_digits:
        return False
    half_ulp = sympy.Rational(1, 2 * 10**places)
    return abs(_n(exact) - _n(decimal)) <= _n(half_ulp) * (1 + sympy.Float("1e-12"))


def _terminates(r: sympy.Rational) -> bool:
    q = int(r.q)
    for prime in (2, 5):
        while q % prime == 0:
            q //= prime
    return q == 1


def _significant_digits(decimal: sympy.Rational, places: int) -> int:
    scaled = abs(Fraction(int(decimal.p), int(decimal.q)) * 10**places)
    return len(str(int(scaled)).lstrip("0")) if scaled else 0


def _n(expr):
    """High-precision numeric value; a complex result keeps its magnitude meaningful for abs()."""
    try:
        value = sympy.N(expr, _EXACT_DIGITS)
    except Exception as exc:
        raise ComparisonError(f"cannot evaluate {type(exc).__name__}: {exc}"[:200]) from exc
    if not value.is_number:
        raise ComparisonError("value is not numeric after evaluation")
    return value


def _numeric_collection(expr) -> bool:
    return isinstance(expr, (sympy.FiniteSet, sympy.Tuple)) and all(_is_number(e) for e in expr.args)


def _collections_equal(g, p, min_sig_digits: int) -> bool:
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


def _proportional_equations(g, p) -> bool:
    """``2x+4y=3`` ~ ``-4x-8y+6=0``: both are equations in variables and one side-difference is a multiple of the other."""
    if not (isinstance(g, sympy.Eq) and isinstance(p, sympy.Eq)):
        return False
    try:
        dg, dp = g.lhs - g.rhs, p.lhs - p.rhs
        if not isinstance(dg, sympy.Expr) or not dg.free_symbols or dg.free_symbols != dp.free_symbols:
            return False
        ratio = sympy.simplify(dg / dp)
    except Exception:  # sides that are sets or intervals do not subtract
        return False
    return bool(ratio.is_number and ratio.is_finite and ratio != 0)
