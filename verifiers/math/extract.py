"""Find the final answer in a completion and clean it into a LaTeX fragment. Pure string code, no sympy.

The last ``\\boxed{...}`` / ``\\fbox{...}`` wins (a brace-balanced scan, so nested braces are kept); ``\\boxed 5``
without braces takes the next token. Without a box, the last "answer is ..." / "Answer: ..." line is used.
Everything here is linear in the text length, so it is safe on hostile input.
"""

from __future__ import annotations

import math
import re
from decimal import Decimal
from fractions import Fraction
from numbers import Number

_BOX_COMMANDS = ("\\boxed", "\\fbox")
MAX_CLEAN_CHARS = 5000
_ANSWER_LINE = re.compile(r"(?im)\banswer\b[^:\n]{0,40}?(?:\bis\b|:)\s*(.*)$|^[\s#*]*final answer[\s*:]*()$")
_REWSNA = re.compile(r"(?i)rewsna")
_NON_BLANK = re.compile(r"\S")
_DOLLARS = re.compile(r"\$+")
_NO_SPACE = dict.fromkeys(c for c in range(0x3001) if chr(c).isspace())  # every str.isspace() character is below U+3001
_LINE_BREAKS = str.maketrans(dict.fromkeys("\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029", "\n"))  # str.splitlines' breaks
_WRAPPERS = (("$$", "$$"), ("$", "$"), ("\\(", "\\)"), ("\\[", "\\]"), ("**", "**"))
_SPACING = re.compile(r"(?<!\\)\\[,;: ]|\\q?quad\b|\\displaystyle\b|\\[td]frac(?=[{\d\\])")
_MATHRM_LETTER = re.compile(r"\\math(?:rm|it)\{\s*([A-Za-z])\s*\}")
_PERCENT = re.compile(r"(?:\\%|%|\\text\{\s*\\?%\s*\}|percent)$", re.IGNORECASE)
_PERCENT_TAIL = 32  # the suffix is matched on this many trailing characters: a \s* run over the whole text is quadratic
_SPACED_THOUSANDS = re.compile(r"-?\d{1,3}(?: \d{3})+(?:\.\d+)?")
_REPEATING = re.compile(r"(-?)(\d*)\.(\d*)\\overline\{(\d+)\}")
_TEXT_WRAP = re.compile(r"^\\(?:text|textbf|mathrm|mathbf|textnormal)\{([^{}]*)\}$")
_WORDS = re.compile(r"[A-Za-z' -]+")
_WORD = re.compile(r"[A-Za-z]{3}")
_PY_FLOAT = re.compile(r"[-+]?\d+(?:\.\d+)?e[-+]\d{2,3}")


def last_boxed(text: str) -> str | None:
    """Content of the last ``\\boxed``/``\\fbox`` in ``text``; None when there is none or it never closes."""
    start, command = max((text.rfind(c), c) for c in _BOX_COMMANDS)
    if start < 0:
        return None
    i = start + len(command)
    while i < len(text) and text[i] == " ":
        i += 1
    if i >= len(text):
        return None
    if text[i] != "{":  # "\boxed 5": the next whitespace-delimited token
        token = re.match(r"[^\s$]+", text[i:])
        return token.group(0).rstrip(".,;") if token else None
    return _balanced(text, i)


def _balanced(text: str, open_at: int) -> str | None:
    """The content of the brace group opening at ``open_at``; escaped braces (``\\{``) do not count."""
    depth, i = 0, open_at
    while i < len(text):
        ch = text[i]
        if ch == "\\":
            i += 2
            continue
        if ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
            if depth == 0:
                return text[open_at + 1 : i]
        i += 1
    return None


def answer_line(text: str) -> str | None:
    """The answer stated on the last "answer is ..." or "Answer: ..." line (or the line after a bare heading).

    Only lines holding the word "answer" are looked at, each once and from the last: no list of lines is built
    (a million short lines cost more in allocation than the scan itself)."""
    text = text.replace("\r\n", "\n").translate(_LINE_BREAKS)
    found, line_start, backwards = None, len(text) + 1, text[::-1]
    for word in _REWSNA.finditer(backwards):  # "answer" reversed: candidates from the end, so the last line wins early
        at = len(text) - word.end()
        if at >= line_start:
            continue  # this line was searched already
        line_start = text.rfind("\n", 0, at) + 1
        line_end = text.find("\n", at)
        found = _ANSWER_LINE.search(text, line_start, len(text) if line_end < 0 else line_end)
        if found:
            break
    if found is None:
        return None
    rest = (found.group(1) or "").strip().strip("*").strip()
    if not rest:  # a bare "Final Answer" heading: the next non-blank line
        nxt = _NON_BLANK.search(text, found.end())
        if nxt:
            stop = text.find("\n", nxt.start())
            rest = text[nxt.start() : len(text) if stop < 0 else stop].strip()
    inline = last_inline_math(rest)
    if inline is not None:
        rest = inline
    rest = rest.rstrip(". ")
    return rest or None


def last_inline_math(line: str) -> str | None:
    """The content of the last ``$...$`` or ``\\(...\\)`` in one line (scanned left to right), else None.

    A single pass with cached ``str.find`` positions: a regex with a lazy group rescans the rest of the line
    from every unclosed ``\\(``, which is quadratic (16,000 of them took seconds)."""
    last, pos, n = None, 0, len(line)
    next_dollar, next_paren = line.find("$"), line.find("\\(")
    while pos < n:
        if 0 <= next_dollar < pos:
            next_dollar = line.find("$", pos)
        if 0 <= next_paren < pos:
            next_paren = line.find("\\(", pos)
        starts = [k for k in (next_dollar, next_paren) if k >= 0]
        if not starts:
            break
        k = min(starts)
        if k == next_dollar:
            k = _DOLLARS.match(line, k).end() - 1  # in a run of $, only the last can open (content is non-empty)
            end = line.find("$", k + 1)
            if end < 0:
                next_dollar = -1  # no closing dollar anywhere after: no later one closes either
                pos = k + 1
                continue
            last, pos = line[k + 1 : end], end + 1
        else:
            end = line.find("\\)", k + 3)
            if end < 0:
                next_paren = -1  # no closer after this opener, so none after any later one
                pos = k + 1
                continue
            last, pos = line[k + 2 : end], end + 2
    return last


def extract_answer(text: str, answer_line_fallback: bool = True) -> str | None:
    """The final answer of a completion as cleaned LaTeX, or None when it states none."""
    raw = last_boxed(text)
    if raw is None and answer_line_fallback:
        raw = answer_line(text)
    if raw is None:
        return None
    cleaned = clean(raw)
    return cleaned or None


def clean(answer: str) -> str:
    """Strip math delimiters, bold markers, spacing macros and a trailing period; ``\\dfrac`` becomes ``\\frac``."""
    s = answer.strip()
    if len(s) > MAX_CLEAN_CHARS:
        return s  # far too long to be an answer; the length guard refuses it, so do no more work on it
    changed = True
    while changed:
        changed = False
        if s.endswith(".") and not s.endswith("\\."):
            s, changed = s[:-1].rstrip(), True
        for left, right in _WRAPPERS:
            if len(s) >= len(left) + len(right) and s.startswith(left) and s.endswith(right):
                s, changed = s[len(left) : len(s) - len(right)].strip(), True
    s = re.sub(r"(?<!\\)\\!", "", s)  # negative thin space, as in 2,\!500
    s = _SPACING.sub(lambda m: "\\frac" if m.group(0).endswith("frac") else " ", s)
    s = _MATHRM_LETTER.sub(r"\1", s)
    s = s.replace("\\left", "").replace("\\right", "")
    s = re.sub(r"\s+", " ", s).strip()
    return s.rstrip(".").strip()


def split_percent(answer: str) -> tuple[str, bool]:
    """``("50\\%")`` -> ``("50", True)``: the answer without a trailing percent sign, and whether it had one."""
    text = answer.rstrip()
    match = _PERCENT.search(text[-_PERCENT_TAIL:])
    stripped = text[: len(text) - len(match.group(0))].rstrip() if match else ""
    return (stripped, True) if stripped else (answer, False)


def plain_number(answer: str) -> Fraction | None:
    """The exact value of a plain numeric answer (``-3``, ``1,000``, ``2 500``, ``0.25``, ``1/2``, ``\\frac{1}{2}``,
    ``0.\\overline{3}``), else None. Cheap and safe: used for majority-vote keys and fast paths."""
    s = answer.strip().replace("{,}", "").replace("\\!", "")
    if len(s) > 1000:
        return None
    if _SPACED_THOUSANDS.fullmatch(s):
        s = s.replace(" ", "")
    if re.fullmatch(r"-?\d{1,3}(?:,\d{3})+(?:\.\d+)?", s):
        s = s.replace(",", "")
    repeating = _REPEATING.fullmatch(s)
    if repeating:
        return _repeating_decimal(*repeating.groups())
    frac = re.fullmatch(r"(-?)\\frac\{\s*(-?\d+)\s*\}\{\s*(\d+)\s*\}", s) or re.fullmatch(r"(-?)\\frac(\d)(\d)", s)
    if frac:
        sign, num, den = frac.groups()
        return None if int(den) == 0 else Fraction(int(num), int(den)) * (-1 if sign else 1)
    ratio = re.fullmatch(r"(-?\d+)\s*/\s*(\d+)", s)
    if ratio:
        num, den = ratio.groups()
        return None if int(den) == 0 else Fraction(int(num), int(den))
    if re.fullmatch(r"[-+]?(?:\d+\.?\d*|\.\d+)", s) and len(s) <= 400:
        return Fraction(s)
    return None


def _repeating_decimal(sign: str, whole: str, fixed: str, period: str) -> Fraction:
    """``0.1\\overline{6}`` -> 1/6."""
    base = Fraction(int(whole or 0)) + (Fraction(int(fixed), 10 ** len(fixed)) if fixed else 0)
    tail = Fraction(int(period), (10 ** len(period) - 1) * 10 ** len(fixed))
    value = base + tail
    return -value if sign else value


def unwrap_text(answer: str) -> str:
    """``\\text{Monday}`` -> ``Monday``: the words of an answer that is one text group, else the answer."""
    match = _TEXT_WRAP.match(answer.strip())
    return match.group(1).strip() if match else answer.strip()


def string_key(answer: str) -> str:
    """A whitespace-insensitive form for exact string comparison; case-insensitive only for words.

    Words are a ``\\text{}`` group or plain letters with a run of three or more (``Monday``, ``no solution``).
    Math keeps its case: ``2x`` and ``2X`` are different variables."""
    text = unwrap_text(answer)
    key = text.translate(_NO_SPACE)  # not re.sub: a match per space costs superlinear allocation on 1 MB
    if text != answer.strip() or (_WORDS.fullmatch(text) and _WORD.search(text)):
        return key.lower()
    return key


def positional(text: str) -> str:
    """A number in Python's float notation (``1e-07``, ``2.5e+20``: what ``str(float)`` writes) as a plain
    decimal (``0.0000001``); any other text unchanged. LaTeX reads ``1e-07`` as Euler's number minus 7."""
    if len(text) > 40 or not _PY_FLOAT.fullmatch(text.strip()):
        return text
    return format(Decimal(text.strip()), "f")


def answer_text(value: object) -> str | None:
    """A ground-truth answer as text: floats without float noise or exponent notation; None when unusable."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, float):
        if not math.isfinite(value):
            return None
        return str(int(value)) if value.is_integer() else format(Decimal(repr(value)), "f")
    if isinstance(value, Number):
        return str(value)
    if isinstance(value, str) and value.strip():
        return positional(value.strip())
    return None
