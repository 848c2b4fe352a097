"""Table tests for the Lean proof-tampering guards and the lexer under them (pure: no Lean needed)."""

from __future__ import annotations

import time

import pytest

from verifiers.lean import guards
from verifiers.lean.guards import check, lex, parse_statement, strip_header_imports

STATEMENT = parse_statement("theorem t (n : Nat) : n + 0 = n := by sorry")
GOLD = "theorem t (n : Nat) : n + 0 = n := by\n  omega\n"

PASSING = {
    "gold": GOLD,
    "gold with comments": "-- a proof\n/- block /- nested -/ -/\ntheorem t (n : Nat) : n + 0 = n := by\n  omega -- done\n",
    "whitespace differs": "theorem   t (n : Nat)\n    : n + 0 = n :=\n  by omega",
    "lemma keyword": "lemma t (n : Nat) : n + 0 = n := by omega",
    "helper lemma first": "theorem helper (m : Nat) : m = m := rfl\ntheorem t (n : Nat) : n + 0 = n := by omega",
    "allowed option": "set_option maxHeartbeats 400000 in\ntheorem t (n : Nat) : n + 0 = n := by omega",
    "option named tactic.*": "set_option tactic.hygienic false in\ntheorem t (n : Nat) : n + 0 = n := by omega",
    "array literal": "theorem t (n : Nat) : n + 0 = n := by\n  have : #[1, 2].size = 2 := rfl\n  omega",
    "char literal with a quote": "def c : Char := '\"'\ntheorem t (n : Nat) : n + 0 = n := by omega",
    "string without braces": "def s : String := \"-- not a comment\"\ntheorem t (n : Nat) : n + 0 = n := by omega",
    "sorry split by a comment (Lean reads two words)": "theorem t (n : Nat) : n + 0 = n := by sor/- -/ry",
    "sorry inside a nested comment": "/- /- -/ sorry -/\ntheorem t (n : Nat) : n + 0 = n := by omega",
    "Finset.card notation #s": "theorem t (n : Nat) : n + 0 = n := by\n  have : #s = #s := rfl\n  omega",
    "greek identifiers": "theorem t (n : Nat) : n + 0 = n := by\n  have hα : n = n := rfl\n  omega",
}

CHEATS = {
    "sorry": ("theorem t (n : Nat) : n + 0 = n := by sorry", "sorry"),
    "sorry term": ("theorem t (n : Nat) : n + 0 = n := sorry", "sorry"),
    "sorryAx": ("theorem t (n : Nat) : n + 0 = n := sorryAx _", "sorry"),
    "«sorry»": ("theorem t (n : Nat) : n + 0 = n := by exact «sorry»", "sorry"),
    "fullwidth sorry": ("theorem t (n : Nat) : n + 0 = n := by ｓｏｒｒｙ", "look-alike"),
    "cyrillic sorry": ("theorem t (n : Nat) : n + 0 = n := by ѕоrry", "look-alike"),
    "admit": ("theorem t (n : Nat) : n + 0 = n := by admit", "admit"),
    "stop": ("theorem t (n : Nat) : n + 0 = n := by\n  stop\n  omega", "stop"),
    "axiom": ("axiom cheat : False\ntheorem t (n : Nat) : n + 0 = n := cheat.elim", "axiom"),
    "constant": ("constant c : Nat\ntheorem t (n : Nat) : n + 0 = n := by omega", "constant"),
    "closed comment then sorry": ("/- -/ theorem t (n : Nat) : n + 0 = n := by sorry", "sorry"),
    "nested comment closed then sorry": ("/- /- -/ -/ theorem t (n : Nat) : n + 0 = n := by sorry", "sorry"),
    "comment marker inside a string": ("def s := \"--\" theorem t (n : Nat) : n + 0 = n := by sorry", "sorry"),
    "block marker inside a char": ("def c := '\"' /- \"-/ theorem t (n : Nat) : n + 0 = n := by sorry", "sorry"),
    "raw string hides a comment marker": ('def s := r#"" -- "# theorem t (n : Nat) : n + 0 = n := by sorry', "sorry"),
    "interpolation": ('def s := s!"{"}"}--" theorem t (n : Nat) : n + 0 = n := by sorry', "brace inside a string"),
    "unterminated comment": ("theorem t (n : Nat) : n + 0 = n := by omega /- ", "unterminated /- comment"),
    "unterminated string": ("theorem t (n : Nat) : n + 0 = n := by omega \"", "unterminated string"),
    "zero-width space": ("theorem t (n : Nat) : n + 0 = n := by so\u200brry", "invisible"),
    "bidi override": ("theorem t (n : Nat) : n + 0 = n := by omega \u202e", "invisible"),
    "statement changed": ("theorem t (n : Nat) : n + 0 = n + 0 := by rfl", "differs"),
    "statement weakened by a hypothesis": ("theorem t (n : Nat) (h : False) : n + 0 = n := h.elim", "differs"),
    "statement only in a comment": ("-- theorem t (n : Nat) : n + 0 = n :=\ntheorem t : True := trivial", "differs"),
    "statement only in a string": ('def s := "theorem t (n : Nat) : n + 0 = n := by omega"\ntheorem t : True := trivial', "differs"),
    "no theorem": ("example (n : Nat) : n + 0 = n := by omega", "does not state"),
    "shadowed in a namespace": (GOLD + "theorem Foo.t : True := trivial", "more than once"),
    "redefined as a def": ("def t : Nat := 0", "redefines"),
    "def and theorem": ("def t := 1\n" + GOLD, "more than once"),
    "extra import": ("import Mathlib\n" + GOLD, "import"),
    "import after code": (GOLD + "import Lean", "import"),
    "skipKernelTC": ("set_option debug.skipKernelTC true\n" + GOLD, "kernel"),
    "weakening option": ("set_option compiler.extract_closed false in\n" + GOLD, "sets option"),
    "implemented_by": ("def f (n : Nat) : Nat := n\n@[implemented_by f] def g (n : Nat) : Nat := n\n" + GOLD, "implemented_by"),
    "extern": ('@[extern "c_f"] opaque f : Nat → Nat\n' + GOLD, "extern"),
    "unsafe": ("unsafe def f : Nat := 0\n" + GOLD, "unsafe"),
    "unsafeCast": ("theorem t (n : Nat) : n + 0 = n := unsafeCast ()", "unsafe"),
    "native_decide": ("theorem t (n : Nat) : n + 0 = n := by native_decide", "native_decide"),
    "decide +native": ("theorem t (n : Nat) : n + 0 = n := by decide +native", "native"),
    "ofReduceBool": ("theorem t (n : Nat) : n + 0 = n := Lean.ofReduceBool _ _ rfl", "ofReduceBool"),
    "macro redefining a tactic": ('macro "omega" : tactic => `(tactic| rfl)\n' + GOLD, "macro"),
    "macro_rules": ("macro_rules | `(tactic| omega) => `(tactic| rfl)\n" + GOLD, "macro_rules"),
    "syntax": ('syntax "foo" : tactic\n' + GOLD, "syntax"),
    "notation": ('notation "ℕ" => Nat\n' + GOLD, "notation"),
    "elab": ('elab "foo" : tactic => pure ()\n' + GOLD, "elab"),
    "tactic attribute": ("@[tactic foo] def f : Nat := 0\n" + GOLD, "attribute"),
    "#eval": ("#eval IO.println 1\n" + GOLD, "#command"),
    "#exit": (GOLD + "#exit", "#command"),
    "#print": (GOLD + "#print axioms t", "#command"),
    "#check mid-line": (GOLD.rstrip() + " #check t", "#command"),
    "include": ("variable (h : False)\ninclude h\n" + GOLD, "include"),
    "run_cmd": ("run_cmd pure ()\n" + GOLD, "run_cmd"),
    "reserved name": ("theorem urlvr_ref_0 : True := trivial\n" + GOLD, "reserved"),
    "too long": (GOLD + "-- " + "x" * guards.MAX_PROOF_CHARS, "limit"),
}


@pytest.mark.parametrize("code", PASSING.values(), ids=PASSING.keys())
def test_honest_proofs_pass_the_guards(code):
    assert check(code, STATEMENT) is None


@pytest.mark.parametrize("code,why", CHEATS.values(), ids=CHEATS.keys())
def test_each_cheat_is_refused_with_its_reason(code, why):
    reason = check(code, STATEMENT)
    assert reason is not None and why in reason, reason


def test_number_then_quote_cannot_hide_code():
    # Lean reads 2, the char '"', the string "--", then sorry: the lexer must not open a string at the quote
    assert check('def x := (2, \'"\') "--" theorem t (n : Nat) : n + 0 = n := by sorry', STATEMENT) is not None
    assert check('def x := 0x1F\'"\' "--" sorry\n' + GOLD, STATEMENT) is not None


def test_native_decide_passes_when_the_task_allows_it():
    code = "theorem t (n : Nat) : n + 0 = n := by native_decide"
    assert "native_decide" in check(code, STATEMENT)
    assert check(code, STATEMENT, allow_native_decide=True) is None


@pytest.mark.parametrize("text,code", [
    ("sor/- -/ry", "sor ry"),
    ("a -- b\nc", "a  \nc"),
    ("/- /- -/ x -/y", " y"),
    ('"/-" x', '"/-" x'),
    ("'\"' -- c", "'\"'  "),
    ('r##"a"#b"## c', 'r##"a"#b"## c'),
    ("h' -- c", "h'  "),
])
def test_lexer_drops_comments_as_lean_does(text, code):
    assert lex(text).code == code


def test_string_contents_never_look_like_declarations():
    assert "theorem" not in lex('"theorem t"').shape and "theorem" in lex('"theorem t"').code


def test_parse_statement_strips_the_sorry_and_comments():
    s = parse_statement("/-- The docstring says theorem fake : False -/\ntheorem t (n : Nat) :\n  n + 0 = n := by\n  sorry")
    assert (s.keyword, s.name, s.shape) == ("theorem", "t", "theorem t (n : Nat) : n + 0 = n")
    assert guards.reference_axiom(s, "ab").startswith("axiom urlvr_ref_ab (n : Nat)")
    spaced = parse_statement("theorem   t\n  (n : Nat) : n = n := by sorry")
    assert guards.reference_axiom(spaced, "ab") == "axiom urlvr_ref_ab\n  (n : Nat) : n = n"
    with pytest.raises(ValueError):
        parse_statement("def t := 1")


def test_header_imports_are_stripped_only_when_the_header_has_them():
    header = "import Mathlib\nimport Aesop\nset_option maxHeartbeats 400000"
    code = "import Mathlib\nimport Aesop\n\n" + GOLD
    stripped = strip_header_imports(code, header)
    assert "import" not in stripped and stripped.count("\n") == code.count("\n")
    assert check(stripped, STATEMENT) is None
    assert "import" in check(strip_header_imports("import Lean\n" + GOLD, header), STATEMENT)


HOSTILE_SHAPES = {
    "open comments": "/-",
    "attribute openers": "@[",
    "set_option words": "set_option ",
    "theorem words": "theorem ",
    "guillemets": "«",
    "quotes": "'",
    "hash": "#",
    "nested": "(",
}


@pytest.mark.parametrize("unit", HOSTILE_SHAPES.values(), ids=HOSTILE_SHAPES.keys())
def test_guards_run_in_linear_time(unit):
    """Ten times the input may cost at most ~40 times the time (quadratic would be ~100)."""
    def cost(n: int, reps: int) -> float:
        text = GOLD + unit * n
        best = float("inf")
        for _ in range(reps):
            start = time.perf_counter()
            check(text, STATEMENT, max_chars=10**7)
            best = min(best, time.perf_counter() - start)
        return best

    small, large = cost(10_000, 5), cost(100_000, 3)  # best-of: load on a shared machine only adds time
    assert large < 40 * max(small, 2e-3), (small, large)
