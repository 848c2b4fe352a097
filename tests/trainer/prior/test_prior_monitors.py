"""Hacking monitors: each logged rollout is sorted into its kind, and the reward's false positives are counted."""

import json

from trainer.prior.monitors import monitor, run_monitors


def _row(step, completion, reward, oracle, prompt="nums 3 5 7 target 22\n<think>"):
    return {"step": step, "prompt": prompt, "completion": completion, "reward": reward, "oracle": oracle}


def test_kinds_sum_answers_and_false_positives():
    rows = [
        _row(1, " 22-7=15/5=3-3=0 hit </think> <answer>(3*5)+7</answer>", 1.0, 1.0),
        _row(1, " </think> <answer>3+5+7</answer>", 1.0, 0.0),
        _row(1, " 22+7=29/5=3-3=0 hit </think> <answer>(3*5)-7</answer>", 0.0, 0.0),
        _row(1, " 3*5=15", 0.0, 0.0),
        _row(1, "anything", 1.0, 0.0, prompt="no numbers here"),  # not a countdown prompt: skipped
    ]
    m = monitor(rows)
    assert m["n"] == 4 and m["correct"] == m["unchecked"] == m["false_hit"] == m["no_answer"] == 0.25
    assert m["sum_answer"] == 0.25 and m["reward_passed_wrong"] == 0.25


def test_first_and_last_windows(tmp_path):
    rows = [_row(s, " </think> <answer>3+5+7</answer>" if s > 5 else " 22-7=15/5=3-3=0 hit </think> <answer>(3*5)+7</answer>", 1.0,
                 float(s <= 5)) for s in range(1, 11)]
    (tmp_path / "samples.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    m = run_monitors(tmp_path, window=3)
    assert m["first"]["correct"] == 1.0 and m["last"]["unchecked"] == 1.0 and m["last"]["reward_passed_wrong"] == 1.0
