"""Decide whether a predicted answer equals the gold answer: Math-Verify's comparison plus a stricter numeric layer.

Answers are parsed only as LaTeX (``latex2sympy2_extended``, as Math-Verify does), never with ``sympify`` or
``parse_expr``. On top of Math-Verify's ``verify`` (called with its signal-based timeout disabled):

- numbers compare exactly, a written decimal may round an exact value (see ``verifiers.math.numbers``);
- symbols keep their case (``2x`` is not ``2X``);
- a percent sign on both sides compares the numbers as written (``20\\%`` is not ``0.2\\%``); a gold percent
  also accepts its fraction (``20\\%`` ~ ``20`` ~ ``0.2``), but a bare gold is the number asked for, so a
  predicted percent must carry that same number (``5`` ~ ``5\\%``, ``5`` is not ``500\\%``);
- an equation matches a non-equation only as an assignment to one variable (``x = 3`` ~ ``3``; ``4 = 3`` is
  not ``3``); equations match when one is a nonzero multiple of the other (``x^2/4+y^2/3=1`` ~ ``3x^2+4y^2=12``);
- a set written with braces never matches a tuple or interval written with brackets (``\\{3, 4\\}`` vs ``(3, 4)``).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from fractions import Fraction

import sympy
from latex2sympy2_extended import NormalizationConfig, latex2sympy, normalize_latex
from latex2sympy2_extended.latex2sympy2 import ConversionConfig
from math_verify.grader import should_treat_as_complex
from math_verify.grader import verify as mv_verify

from verifiers.base import Verdict
from verifiers.math import extract
from verifiers.math.guards import Limits, refuse
from verifiers.math.numbers import ComparisonError, collections_equal, exact_floats, is_number, numbers_equal, numeric_collection

# Math-Verify warns once that its timeout is disabled; the pool's process timeout is the bound here.
logging.getLogger("math_verify").setLevel(logging.ERROR)

_NORMALIZATION = NormalizationConfig(basic_latex=True, units=True, malformed_operators=True, nits=True, boxed="none", equations=False)
_CONVERSION = ConversionConfig(lowercase_symbols=False)  # latex2sympy lowercases by default: 2X would be 2x

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
        complex_ = should_treat_as_complex(normalized)
        expr = latex2sympy(normalized, is_real=not complex_, convert_degrees=False, normalization_config=None, conversion_config=_CONVERSION)
        expr = exact_floats(expr)
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
    return screen(gold, pred, limits) or compare(gold, pred, min_sig_digits)


def screen(gold: str, pred: str, limits: Limits | None = Limits()) -> Verdict | None:
    """The verdict string checks alone can give (same text, a refused answer), else None. No sympy work."""
    if extract.string_key(gold) == extract.string_key(pred):
        return Verdict.correct("answer text matches the gold answer")
    if limits is not None:
        why = refuse(pred, limits)
        if why:
            return Verdict.incorrect(f"answer refused before parsing: {why}")
        why = refuse(gold, limits)
        if why:
            return Verdict.error(f"gold answer refused before parsing: {why}")
    if _kind(gold) and _kind(pred) and _kind(gold) != _kind(pred):
        return Verdict.incorrect(f"{_short(pred)} is a {_kind(pred)} and gold {_short(gold)} is a {_kind(gold)}")
    return None


def plain_numbers(gold: str, pred: str) -> bool:
    """True when both answers are plain numbers (exact rationals: comparing them is cheap and bounded)."""
    return all(extract.plain_number(extract.split_percent(a)[0]) is not None for a in (gold, pred))


def compare(gold: str, pred: str, min_sig_digits: int = 3) -> Verdict:
    """Parse both answers and compare them (the sympy part of ``judge``, for answers ``screen`` let through)."""
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
    if failures:  # the answer's own expression defeated the comparison: not a fault of the verifier
        return Verdict.incorrect(f"{_short(pred)} could not be compared with gold {_short(gold)}: {failures[0]}"[:500])
    return Verdict.incorrect(f"{_short(pred)} is not equivalent to gold {_short(gold)}")


def _short(text: str, n: int = 60) -> str:
    return repr(text if len(text) <= n else text[: n - 3] + "...")


def _kind(text: str) -> str | None:
    """``set`` for a listed ``\\{a, b\\}``, ``tuple or interval`` for a bracketed list, else None (no claim)."""
    if "," not in text:
        return None
    if text.startswith(("\\{", "\\lbrace")) and text.endswith(("\\}", "\\rbrace")):
        return None if any(m in text for m in ("|", ":", "\\mid")) else "set"  # set-builder: no claim
    return "tuple or interval" if text[0] in "([" and text[-1] in ")]" else None


def _percent_readings(g: Value, p: Value) -> list[tuple[Value, Value]]:
    """Pairs to try: the numbers as written, and, when only the gold has a percent sign, its fraction of 100.

    A prediction's percent sign is never divided out: the gold ``5`` asks for 5, and ``500\\%`` would pass."""
    if g.percent and not p.percent:
        return [(g, p), (_per_cent(g), p)]
    return [(g, p)]


def _per_cent(v: Value) -> Value:
    return replace(v, expr=v.expr / 100, decimals=None if v.decimals is None else v.decimals + 2)


def equivalent(g: Value, p: Value, min_sig_digits: int = 3) -> bool:
    """True when the two parsed answers are mathematically the same answer. Raises ComparisonError."""
    gx, px = g.expr, p.expr
    if _is_equation(gx) != _is_equation(px):  # one side is an equation: only an assignment x = value counts
        gx, px = _assigned_value(gx), _assigned_value(px)
        if gx is None or px is None:
            return False
    if is_number(gx) and is_number(px):
        return numbers_equal(gx, g.decimals, px, p.decimals, min_sig_digits)
    if numeric_collection(gx) and numeric_collection(px):
        return collections_equal(gx, px, min_sig_digits)
    set_vs_relation = isinstance(gx, sympy.Set) and isinstance(px, (sympy.Rel, sympy.And)) and len(px.free_symbols) == 1
    try:
        if mv_verify(gx, px, timeout_seconds=None, raise_on_error=True, allow_set_relation_comp=set_vs_relation):
            return True
    except Exception as exc:
        if not _proportional_equations(gx, px):
            raise ComparisonError(f"{type(exc).__name__} in math_verify: {exc}"[:300]) from exc
        return True
    return _proportional_equations(gx, px)


def _is_equation(expr) -> bool:
    if isinstance(expr, sympy.And):
        return any(isinstance(a, sympy.Eq) for a in expr.args)
    return isinstance(expr, sympy.Eq) or expr is sympy.true or expr is sympy.false


def _assigned_value(expr):
    """``x = 3`` -> ``3`` (either way round); None for any other equation (``4 = 3``, ``y = 2y``, ``f(x) = 3``).

    A non-equation comes back unchanged: the variable's name is not part of the answer, its value is."""
    if not _is_equation(expr):
        return expr
    if not isinstance(expr, sympy.Eq):
        return None
    for var, value in ((expr.lhs, expr.rhs), (expr.rhs, expr.lhs)):
        if isinstance(var, sympy.Symbol) and var not in getattr(value, "free_symbols", {var}):
            return value
    return None


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
