r"""Read a judge's reply adversarially: only a plain, unqualified True is a pass.

One left-to-right scan (linear in the reply; no backtracking regex) finds verdict markers: ``\boxed{True}``,
``\boxed{\text{False}}`` and, in ``boxed_or_bare`` mode when no box is present, bare ``True``/``False`` words.
A marker is

- *quoted* (ignored) inside double quotes, curly quotes, guillemets or backticks (code), or wrapped in ``'...'``;
- *qualified* (never a pass) when a negation or hedge comes before it in its sentence (``not``, ``never``,
  ``isn't``, ``no``, ``if``, ``whether``, ``maybe``...), a negation after it in its sentence or within two
  words of the next (``True is wrong``, ``True. No.``), or its sentence ends with ``?``. Sentences end at
  ``. ! ? ; :`` and line breaks.

The verdict is ``correct`` only when every counted marker says True and none is qualified; both True and
False is ``ambiguous``; neither is ``no verdict``. All are ``incorrect`` (score 0) with the reason. The rule
errs towards 0: "No errors, so \boxed{True}" is read as negated (a lost pass, never a false one).
"""

from __future__ import annotations

import re
from typing import Literal, NamedTuple

from verifiers.base import Verdict
from verifiers.judge_prompt import normalize

ParseMode = Literal["boxed", "boxed_or_bare"]

_TOKEN = re.compile(r"\\(?:boxed|fbox)(?![A-Za-z])|[A-Za-z]+(?:'[A-Za-z]+)?|[\"`?!.;:\n\u201c\u201d\u00ab\u00bb]")
_WRAPPERS = ("\\text", "\\textbf", "\\textrm", "\\mathrm", "\\mathbf", "\\textsf", "\\texttt")
_NEGATIONS = frozenset(
    "not no never none nor neither cannot hardly without instead rather unlikely false wrong incorrect untrue".split()
)
"""Words that turn a following (or, for some, a preceding) verdict around. ``...n't`` words count too."""
_HEDGES = frozenset("if whether unless either maybe perhaps possibly might could or suppose assume".split())
_AFTER_NEGATIONS = _NEGATIONS - {"false"} | {"wrong", "incorrect"}
_SENTENCE_END = frozenset(".!;:\n")
_AFTER = 2


class Marker(NamedTuple):
    """One verdict marker found in a reply."""

    value: bool
    boxed: bool
    quoted: bool
    qualified: bool


def parse_judgement(text: str, mode: ParseMode) -> Verdict:
    """The judge's verdict on a proposed answer: ``correct`` only for a plain, unqualified True (see the module)."""
    markers = find_markers(normalize(text))
    counted = [m for m in markers if m.boxed and not m.quoted]
    source = "boxed"
    if not counted and mode == "boxed_or_bare":
        counted = [m for m in markers if not m.boxed and not m.quoted]
        source = "bare"
    if not counted:
        why = "only quoted verdicts" if markers else "judge gave neither True nor False"
        return Verdict.incorrect(f"no verdict: {why}")
    values = {m.value for m in counted}
    if values == {False}:
        return Verdict.incorrect(f"judge said False ({source})")
    if values != {True}:
        return Verdict.incorrect("ambiguous: judge said both True and False")
    if any(m.qualified for m in counted):
        return Verdict.incorrect(f"negated: the {source} True is negated, conditional or a question")
    return Verdict.correct(f"judge said True ({source})")


def find_markers(text: str) -> list[Marker]:
    """Every verdict marker in ``text`` (already normalised), in order, each marked quoted and/or qualified."""
    scan = _Scan(text)
    pos = 0
    while True:
        match = _TOKEN.search(text, pos)
        if match is None:
            break
        pos = scan.token(match)
    scan.end_sentence(question=False)
    return scan.markers


class _Scan:
    """The scanner's state: quotes open, whether the sentence has negated so far, and the markers still watched.

    Markers are watched for a negation until their sentence ends and ``_AFTER`` words beyond: two index ranges
    (this sentence's, the last sentence's), each emptied once qualified, so every marker is touched O(1) times.
    """

    def __init__(self, text: str):
        self.text = text
        self.markers: list[Marker] = []
        self.double = self.backtick = False
        self.curly = self.guillemet = 0
        self.negated = False
        self.sentence_from = 0  # markers[sentence_from:] are in this sentence
        self.last_from, self.last_to, self.last_left = 0, 0, 0  # the last sentence's, watched for last_left words

    def token(self, match: re.Match) -> int:
        """Take one token; returns where the next search starts."""
        tok, start, end = match.group(), match.start(), match.end()
        if tok.startswith("\\"):
            value, box_end = _box_value(self.text, end)
            if value is not None:
                self.add(value, True, start, box_end)
            return box_end
        if tok[0].isalpha():
            self.word(tok.lower(), start, end)
        elif tok == "?":
            self.end_sentence(question=True)
        elif tok in _SENTENCE_END:
            self.end_sentence(question=False)
        else:
            self.quote(tok)
        return end

    def word(self, word: str, start: int, end: int) -> None:
        if word in _AFTER_NEGATIONS or word.endswith("n't"):
            self.qualify(self.sentence_from, len(self.markers))
            self.sentence_from = len(self.markers)
            if self.last_left:
                self.qualify(self.last_from, self.last_to)
            self.last_left = 0
        elif self.last_left:
            self.last_left -= 1
        if word in ("true", "false"):
            self.add(word == "true", False, start, end)
        if word in _NEGATIONS or word in _HEDGES or word.endswith("n't"):
            self.negated = True

    def add(self, value: bool, boxed: bool, start: int, end: int) -> None:
        text = self.text
        wrapped = start > 0 and text[start - 1] == "'" and end < len(text) and text[end] == "'"
        quoted = self.double or self.backtick or self.curly > 0 or self.guillemet > 0 or wrapped
        self.markers.append(Marker(value, boxed, quoted, self.negated))

    def qualify(self, lo: int, hi: int) -> None:
        for index in range(lo, hi):
            self.markers[index] = self.markers[index]._replace(qualified=True)

    def end_sentence(self, question: bool) -> None:
        if question:
            self.qualify(self.sentence_from, len(self.markers))
        if self.sentence_from < len(self.markers):
            self.last_from, self.last_to, self.last_left = self.sentence_from, len(self.markers), _AFTER
        self.sentence_from = len(self.markers)
        self.negated = False

    def quote(self, tok: str) -> None:
        if tok == '"':
            self.double = not self.double
        elif tok == "`":
            self.backtick = not self.backtick
        elif tok == "\u201c":
            self.curly += 1
        elif tok == "\u201d":
            self.curly = max(0, self.curly - 1)
        elif tok == "\u00ab":
            self.guillemet += 1
        elif tok == "\u00bb":
            self.guillemet = max(0, self.guillemet - 1)


def _box_value(text: str, i: int) -> tuple[bool | None, int]:
    """Read ``{ True }`` or ``{\\text{ False }}`` at ``i`` (just after ``\\boxed``): (True/False or None, end).

    Each character is read once; a box holding anything but one verdict word gives None.
    """
    i = _skip_spaces(text, i)
    if i >= len(text) or text[i] != "{":
        return None, i
    i = _skip_spaces(text, i + 1)
    closers = 1
    for wrapper in _WRAPPERS:
        if text.startswith(wrapper, i) and not text[i + len(wrapper) : i + len(wrapper) + 1].isalpha():
            j = _skip_spaces(text, i + len(wrapper))
            if j < len(text) and text[j] == "{":
                i, closers = _skip_spaces(text, j + 1), 2
            break
    start = i
    while i < len(text) and text[i].isascii() and text[i].isalpha():
        i += 1
    word = text[start:i].lower()
    for _ in range(closers):
        i = _skip_spaces(text, i)
        if i >= len(text) or text[i] != "}":
            return None, i
        i += 1
    return {"true": True, "false": False}.get(word), i


def _skip_spaces(text: str, i: int) -> int:
    n = len(text)
    while i < n and text[i] in " \t\n\r":
        i += 1
    return i
