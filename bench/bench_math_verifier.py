"""Math verifier vs. plain Math-Verify on the gold table: agreement with the expected label and per-item latency;
then answer extraction on 1 MB pathological completions beside a linear scan of the same text.

Run: ``python bench/bench_math_verifier.py``. Both are measured side by side in this one run, in this process
(plain Math-Verify uses its default signal-based timeouts, so it runs on the main thread here).
"""

from __future__ import annotations

import importlib.util
import logging
import statistics
import time
from pathlib import Path

from math_verify import parse, verify

from verifiers.base import safe_verify
from verifiers.math import MathVerifier
from verifiers.math.extract import extract_answer

logging.getLogger("math_verify").setLevel(logging.CRITICAL)
GOLD_FILE = Path(__file__).resolve().parents[1] / "tests" / "verifiers" / "math_gold.py"


def load_rows() -> list[tuple[str, str, bool, str]]:
    spec = importlib.util.spec_from_file_location("math_gold", GOLD_FILE)
    gold = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(gold)
    boxed = [(g, f"Therefore the answer is \\boxed{{{p}}}.", e, s) for g, p, e, s in gold.BOXED]
    return boxed + list(gold.RAW)


def plain_math_verify(gold: str, completion: str) -> bool:
    """How Math-Verify is usually called in RL reward functions (TRL's accuracy_reward, open-r1)."""
    return bool(verify(parse(f"${gold}$"), parse(completion)))


def main(repeats: int = 1) -> None:
    rows = load_rows()
    ours_verifier = MathVerifier()
    ours_ok = mv_ok = fixed_fp = fixed_fn = broke = 0
    ours_lat: list[float] = []
    mv_lat: list[float] = []
    for gold, completion, expected, _ in rows:
        for _ in range(repeats):
            verdict = safe_verify(ours_verifier, {"answer": gold}, completion)
            ours_lat.append(verdict.seconds)
            start = time.perf_counter()
            mv = plain_math_verify(gold, completion)
            mv_lat.append(time.perf_counter() - start)
        ours = verdict.status == "correct"
        ours_ok += ours == expected
        mv_ok += mv == expected
        if mv != expected and ours == expected:
            fixed_fp += mv and not expected
            fixed_fn += (not mv) and expected
        broke += mv == expected and ours != expected
    n = len(rows)
    print(f"gold table rows: {n} ({sum(r[2] for r in rows)} equivalent, {sum(not r[2] for r in rows)} not)")
    print(f"urlvr math verifier agrees with the label: {ours_ok}/{n}")
    print(f"plain Math-Verify 0.9 agrees with the label: {mv_ok}/{n}")
    print(f"Math-Verify errors fixed: {fixed_fp} false positives, {fixed_fn} false negatives; rows it had right that we miss: {broke}")
    med_ours, med_mv = statistics.median(ours_lat), statistics.median(mv_lat)
    print(f"median per-item latency: urlvr {med_ours * 1e3:.2f} ms, Math-Verify {med_mv * 1e3:.2f} ms (ratio {med_ours / med_mv:.2f})")
    print(f"p90 per-item latency: urlvr {statistics.quantiles(ours_lat, n=10)[-1] * 1e3:.2f} ms, "
          f"Math-Verify {statistics.quantiles(mv_lat, n=10)[-1] * 1e3:.2f} ms")


EXTRACTION_SHAPES = {
    "answer is + \\( x 16,000 (the issue's case)": "The answer is " + "\\(" * 16_000,
    "answer is + \\( run, 1 MB": "The answer is " + "\\(" * (1 << 19),
    "unclosed \\boxed{ run, 1 MB": "\\boxed{" * (1 << 17),
    "$ run, 1 MB": "The answer is " + "$" * (1 << 20),
    "answer is lines, 1 MB": "The answer is\n" * (1 << 16),
    "digit run, 1 MB": "The answer is " + "7" * (1 << 20),
}


def best_of(fn, arg, repeats: int = 3) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn(arg)
        times.append(time.perf_counter() - start)
    return min(times)


def extraction() -> None:
    """Trainer-side extraction time beside ``str.count`` over the same text (a linear scan): the ratio stays flat."""
    for name, text in EXTRACTION_SHAPES.items():
        ours, scan = best_of(extract_answer, text), best_of(lambda t: t.count("\\"), text)
        print(f"extract_answer, {name}: {ours * 1e3:.2f} ms; str.count {scan * 1e3:.3f} ms (ratio {ours / scan:.0f})")


if __name__ == "__main__":
    main()
    extraction()
