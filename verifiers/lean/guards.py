"""Proof-tampering guards: pure string checks run before Lean sees a completion.

A small lexer that follows Lean 4's own token rules (nested ``/- -/`` comments, ``--`` line comments, string,
raw-string and character literals, ``«»`` identifiers, numbers) splits the code into what Lean will read as
code and what it will skip. Forbidden words are then searched in everything but comments (string contents
count, to stay on the safe side), on the text as written and again after folding Unicode look-alikes. Where the
lexer cannot be sure it reads the code as Lean does (a brace inside a string could open an interpolation; an
unterminated comment or literal), the completion is refused. These checks are the first layer: the verifier
then trusts Lean's messages, the REPL's sorry list, and ``#print axioms`` of a theorem whose statement was
elaborated before the completion ran. Everything here runs in linear time.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass

MAX_PROOF_CHARS = 100_000

# words that end a check whatever the task allows (matched on whole Lean words; see _word_reason)
FORBIDDEN = {
    "admit": "uses admit",
    "stop": "uses the stop tactic (it admits the rest of the proof)",
    "axiom": "declares an axiom",
    "constant": "declares a constant",
    "implemented_by": "uses @[implemented_by]",
    "extern": "uses @[extern]",
    "import": "has an extra import",
    "initialize": "runs initialize code",
    "builtin_initialize": "runs initialize code",
    "run_cmd": "runs meta code (run_cmd)",
    "run_tac": "runs meta code (run_tac)",
    "run_elab": "runs meta code (run_elab)",
    "run_meta": "runs meta code (run_meta)",
    "by_elab": "runs meta code (by_elab)",
    "skipKernelTC": "turns off the kernel check",
    "ofReduceBool": "uses Lean.ofReduceBool (trusts compiled code)",
    "ofReduceNat": "uses Lean.ofReduceNat (trusts compiled code)",
    "trustCompiler": "uses Lean.trustCompiler",
    "include": "uses include (adds hypotheses to every later theorem)",
    **{w: f"defines syntax or tactics ({w})" for w in (
        "macro", "macro_rules", "syntax", "notation", "infix", "infixl", "infixr", "prefix", "postfix",
        "elab", "elab_rules", "declare_syntax_cat", "tactic_extension", "simproc", "dsimproc",
    )},
}
NATIVE = {"native_decide": "uses native_decide (not allowed for this task)", "native": "asks for native evaluation"}
RESERVED = "urlvr"
"""Names with this prefix are the verifier's own (the reference axiom and the check theorem)."""

ALLOWED_OPTIONS = ("maxHeartbeats", "maxRecDepth", "synthInstance.maxHeartbeats", "synthInstance.maxSize",
                   "autoImplicit", "relaxedAutoImplicit", "tactic.hygienic", "simprocs", "exponentiation.threshold",
                   "maxSynthPendingDepth", "pp.", "trace.", "linter.", "profiler")
DECL_KEYWORDS = ("theorem", "lemma", "def", "abbrev", "instance", "axiom", "opaque", "structure", "class",
                 "inductive", "example", "alias", "constant")
INVISIBLE = re.compile("[\u00ad\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
CONFUSABLE = str.maketrans({
    "а": "a", "е": "e", "о": "o", "р": "p", "с": "c", "у": "y", "х": "x", "ѕ": "s", "і": "i", "ј": "j", "ԁ": "d",
    "ԛ": "q", "ԝ": "w", "һ": "h", "ո": "n", "ս": "u", "ν": "v", "ο": "o", "α": "a", "ι": "i", "κ": "k", "ρ": "p",
    "τ": "t", "υ": "u", "ѵ": "v", "ɑ": "a", "ℎ": "h", "ı": "i", "ȷ": "j", "ꞵ": "b", "ß": "ss",
})


class LexError(ValueError):
    """The code cannot be split as Lean would split it (unterminated comment, literal, ...)."""


def _is_letter_like(c: str) -> bool:
    o = ord(c)
    return ((0x3B1 <= o <= 0x3C9 and o != 0x3BB) or (0x391 <= o <= 0x3A9 and o not in (0x3A0, 0x3A3))
            or 0x3CA <= o <= 0x3FB or 0x1F00 <= o <= 0x1FFE or 0x2100 <= o <= 0x214F or 0x1D49C <= o <= 0x1D59F)


def _is_subscript(c: str) -> bool:
    o = ord(c)
    return 0x2080 <= o <= 0x2089 or 0x2090 <= o <= 0x209C or 0x1D62 <= o <= 0x1D6A


def is_id_first(c: str) -> bool:
    """Lean's ``isIdFirst``: ASCII letters, ``_`` and the letter-like Unicode blocks."""
    return ("a" <= c <= "z") or ("A" <= c <= "Z") or c == "_" or (c > "\x7f" and _is_letter_like(c))


def is_id_rest(c: str) -> bool:
    """Lean's ``isIdRest``: ``isIdFirst``, ASCII digits, ``'``, ``!``, ``?`` and subscripts."""
    return is_id_first(c) or ("0" <= c <= "9") or c in "'!?" or (c > "\x7f" and _is_subscript(c))


@dataclass(frozen=True)
class Lexed:
    """Two views of one piece of code, both with comments replaced by a space.

    ``code`` keeps literals as written (for the forbidden-word scan); ``shape`` replaces each string literal by
    a digest of its content, so text inside a string can never look like a declaration.
    """

    code: str
    shape: str


def lex(text: str) -> Lexed:
    """Split ``text`` as Lean's tokenizer would; raises LexError where that is not certain."""
    code: list[str] = []
    shape: list[str] = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c == "-" and text.startswith("--", i):
            j = text.find("\n", i)
            i = n if j < 0 else j
            code.append(" "), shape.append(" ")
        elif c == "/" and text.startswith("/-", i):
            i = _skip_block_comment(text, i)
            code.append(" "), shape.append(" ")
        elif c == '"':
            j = _string_end(text, i + 1)
            _literal(text, i, j, code, shape)
            i = j
        elif c == "r" and _raw_string_start(text, i):
            j = _raw_string_end(text, i)
            _literal(text, i, j, code, shape)
            i = j
        elif c == "'":
            j = _char_end(text, i)
            code.append(text[i:j]), shape.append(text[i:j])
            i = j
        elif c == "«":
            j = text.find("»", i + 1)
            if j < 0:
                raise LexError("an unterminated «identifier»")
            code.append(text[i : j + 1]), shape.append(text[i : j + 1])
            i = j + 1
        elif is_id_first(c):
            j = i + 1
            while j < n and is_id_rest(text[j]):
                j += 1
            code.append(text[i:j]), shape.append(text[i:j])
            i = j
        elif "0" <= c <= "9":
            j = _number_end(text, i)
            code.append(text[i:j]), shape.append(text[i:j])
            i = j
        else:
            code.append(c), shape.append(c)
            i += 1
    return Lexed("".join(code), "".join(shape))


def _skip_block_comment(text: str, i: int) -> int:
    depth, j, n = 1, i + 2, len(text)
    while j < n:
        if text.startswith("/-", j):
            depth, j = depth + 1, j + 2
        elif text.startswith("-/", j):
            depth, j = depth - 1, j + 2
            if depth == 0:
                return j
        else:
            j += 1
    raise LexError("an unterminated /- comment")


def _string_end(text: str, j: int) -> int:
    n = len(text)
    while j < n:
        c = text[j]
        if c == "\\":
            j += 2
        elif c == '"':
            return j + 1
        elif c in "{}":
            raise LexError("a brace inside a string literal (an interpolation could hide code)")
        else:
            j += 1
    raise LexError("an unterminated string literal")


def _raw_string_start(text: str, i: int) -> bool:
    if i > 0 and is_id_rest(text[i - 1]):
        return False
    j = i + 1
    while j < len(text) and text[j] == "#":
        j += 1
    return j < len(text) and text[j] == '"'


def _raw_string_end(text: str, i: int) -> int:
    j = i + 1
    while text[j] == "#":
        j += 1
    closer = '"' + "#" * (j - i - 1)
    end = text.find(closer, j + 1)
    if end < 0:
        raise LexError("an unterminated raw string literal")
    if "{" in text[j:end] or "}" in text[j:end]:
        raise LexError("a brace inside a string literal (an interpolation could hide code)")
    return end + len(closer)


def _char_end(text: str, i: int) -> int:
    """End of a character literal at ``i`` (Lean: a ``'`` starting a token is one unless ``''``)."""
    n = len(text)
    if i + 1 < n and text[i + 1] == "'":
        return i + 1  # `''` is not a char literal: let the next quote be its own token
    j = i + 1
    if j < n and text[j] == "\\":
        j += 2
        while j < n and j < i + 10 and text[j] != "'":
            j += 1  # \xHH and \uHHHH
    else:
        j += 1
    if j < n and text[j] == "'":
        return j + 1
    raise LexError("a malformed character literal")


def _number_end(text: str, i: int) -> int:
    n = len(text)
    if text.startswith(("0x", "0X", "0b", "0B", "0o", "0O"), i):
        j = i + 2
        while j < n and (text[j].isascii() and text[j].isalnum()):
            j += 1
        return j
    j = i
    while j < n and "0" <= text[j] <= "9":
        j += 1
    if j + 1 < n and text[j] == "." and "0" <= text[j + 1] <= "9":
        j += 1
        while j < n and "0" <= text[j] <= "9":
            j += 1
    if j < n and text[j] in "eE":
        k = j + 1 + (j + 1 < n and text[j + 1] in "+-")
        if k < n and "0" <= text[k] <= "9":
            j = k
            while j < n and "0" <= text[j] <= "9":
                j += 1
    return j


def _literal(text: str, i: int, j: int, code: list[str], shape: list[str]) -> None:
    code.append(text[i:j])
    shape.append('"' + hashlib.blake2b(text[i:j].encode("utf-8", "surrogatepass"), digest_size=8).hexdigest() + '"')


def words(code: str) -> Iterable[str]:
    """The Lean words (identifier components) of comment-free code; ``.``, ``«`` and ``»`` split them."""
    start = -1
    for k, c in enumerate(code):
        if is_id_rest(c):
            if start < 0:
                start = k
        elif start >= 0:
            yield code[start:k]
            start = -1
    if start >= 0:
        yield code[start:]


def normalize_ws(text: str) -> str:
    """Runs of whitespace collapsed to one space, ends stripped."""
    return " ".join(text.split())


# --------------------------------------------------------------------------- statements


@dataclass(frozen=True)
class Statement:
    """A task's theorem: keyword (theorem/lemma), name, and the text from the keyword up to ``:=``."""

    keyword: str
    name: str
    source: str
    """Comment-free statement text as written (literals kept): what the reference axiom is built from."""
    shape: str
    """Whitespace-normalised ``shape`` view: what the completion's statement must equal."""


_DECL_HEAD = re.compile(r"^\s*((?:@\[[^\]]*\]\s*)*)(theorem|lemma)\s+(\S+)")
_TRAILER = re.compile(r"(?:\s*:=)?(?:\s*by)?(?:\s*sorry)?\s*$")


def parse_statement(formal_statement: str) -> Statement:
    """The task's statement, with a trailing ``:= by sorry`` (any part of it) removed; ValueError if none."""
    lexed = lex(formal_statement)
    source = _TRAILER.sub("", lexed.code).strip()
    shape = normalize_ws(_TRAILER.sub("", lexed.shape))
    head = _DECL_HEAD.match(source)
    if not head:
        raise ValueError(f"formal_statement does not start with 'theorem NAME': {formal_statement[:120]!r}")
    return Statement(head.group(2), head.group(3), source[head.start(2):], shape[shape.index(head.group(2)):])


def reference_axiom(statement: Statement, nonce: str) -> str:
    """The task's statement as ``axiom urlvr_ref_<nonce> ...``: elaborated before the completion runs."""
    head = re.match(r"(?:theorem|lemma)\s+" + re.escape(statement.name), statement.source)
    return f"axiom {RESERVED}_ref_{nonce}" + statement.source[head.end() if head else 0:]


# --------------------------------------------------------------------------- the guard


def strip_header_imports(code: str, header: str) -> str:
    """``code`` with its leading ``import`` lines removed when the task's header has them (kept as blank lines)."""
    wanted = {normalize_ws(line) for line in header.splitlines() if line.strip().startswith("import")}
    lines = code.split("\n")
    for k, line in enumerate(lines):
        if not line.strip():
            continue
        if line.strip().startswith("import ") and normalize_ws(line) in wanted:
            lines[k] = ""
            continue
        break
    return "\n".join(lines)


def check(code: str, statement: Statement, *, allow_native_decide: bool = False, max_chars: int = MAX_PROOF_CHARS) -> str | None:
    """Why ``code`` (header imports already stripped) is refused before Lean sees it, or None."""
    if len(code) > max_chars:
        return f"the proof is {len(code)} characters, over the {max_chars} limit"
    bad = INVISIBLE.search(code)
    if bad:
        return f"the proof contains an invisible or control character U+{ord(bad.group()):04X}"
    try:
        lexed = lex(code)
    except LexError as exc:
        return f"the proof has {exc}"
    return (_word_reason(lexed.code, allow_native_decide) or _command_reason(lexed.shape)
            or _statement_reason(lexed.shape, statement))


def _word_reason(code: str, allow_native: bool) -> str | None:
    folded = unicodedata.normalize("NFKC", code).translate(CONFUSABLE)
    for view, how in ((code, ""), (folded, " (a look-alike spelling)")):
        for word in words(view):
            reason = _word_verdict(word.rstrip("!?'"), allow_native)
            if reason:
                return f"the proof {reason}{how}: {word[:40]!r}"
    return None


def _word_verdict(word: str, allow_native: bool) -> str | None:
    lower = word.lower()
    if "sorry" in lower:
        return "uses sorry"
    if "unsafe" in lower:
        return "uses unsafe code"
    if lower.startswith(RESERVED):
        return f"uses a name reserved for the verifier ({RESERVED}...)"
    if not allow_native and word in NATIVE:
        return NATIVE[word]
    return FORBIDDEN.get(word)


_HASH_COMMAND = re.compile(r"(?<![\w'!?])#[A-Za-z_][\w'!?]{2,}")
"""``#eval``, ``#exit``, ``#print``...: every such command has a name of 3+ letters; ``#s`` (Finset.card) passes."""
_ATTRIBUTES = re.compile(r"(?:@\[|attribute\s{0,20}\[)([^\]]{0,400})")  # bounded: an unclosed @[ cannot cost O(n) each
_META_ATTRIBUTES = re.compile(r"(?<![\w.])(tactic|term_elab|command_elab|init|builtin_\w+|env_extension|implemented_by|extern)(?![\w.])")
_SET_OPTION = re.compile(r"(?<![\w.])set_option\s+([^\s]+)")


def _command_reason(shape: str) -> str | None:
    m = _HASH_COMMAND.search(shape)
    if m:
        return f"the proof runs a #command ({shape[m.start():m.start() + 12].split()[0]!r}); none are allowed"
    for m in _ATTRIBUTES.finditer(shape):
        meta = _META_ATTRIBUTES.search(m.group(1))
        if meta:
            return f"the proof uses the attribute {meta.group(1)!r}, which runs or replaces code"
    for m in _SET_OPTION.finditer(shape):
        option = m.group(1)
        if not any(option == a or (a.endswith(".") and option.startswith(a)) for a in ALLOWED_OPTIONS):
            return f"the proof sets option {option[:60]!r}, which may weaken checking"
    return None


def _statement_reason(shape: str, statement: Statement) -> str | None:
    text = normalize_ws(shape)
    last = statement.name.rsplit(".", 1)[-1]
    decls = [m for m in _declarations(text) if m.group(2).rsplit(".", 1)[-1].strip("«»") == last.strip("«»")]
    if not decls:
        return f"the proof does not state theorem {statement.name}"
    if len(decls) > 1:
        return f"the proof declares {statement.name} more than once (shadowing or redefining the theorem)"
    decl = decls[0]
    if decl.group(1) not in ("theorem", "lemma") or decl.group(2) != statement.name:
        return f"the proof redefines the theorem name as '{decl.group(1)} {decl.group(2)}'"
    expected = statement.shape[len(statement.keyword):]
    rest = text[decl.start(1) + len(decl.group(1)):]
    if not rest.startswith(expected) or not rest[len(expected):].lstrip().startswith(":="):
        return f"the statement of {statement.name} differs from the task's"
    return None


_DECL = re.compile(r"(?<![\w.'!?])(" + "|".join(DECL_KEYWORDS) + r") +([^\s(){}\[\]:⦃]+)")


def _declarations(text: str) -> Iterable[re.Match[str]]:
    """Each ``keyword name`` in whitespace-normalised, comment-free code."""
    return _DECL.finditer(text)
