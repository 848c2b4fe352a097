"""trainer.eval: bad command lines fail before any model loads; JSONL completions score exactly; a real tiny
organism is sampled, written, and resumed (a torn last line is dropped and only its row sampled again)."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tasks import make_task
from tests.tiny_organism import PRESET, organism_cache, task_options
from trainer.eval import EvalConfig, parse_config, run
from trainer.eval_args import UsageError


def cli(args, cache: Path, timeout=600):
    env = {**os.environ, "URLVR_CACHE": str(cache), "OMP_NUM_THREADS": "1"}
    return subprocess.run([sys.executable, "-m", "trainer.eval", *args], env=env, capture_output=True, text=True, timeout=timeout)


@pytest.mark.parametrize("args, says", [
    (["model=tiny-countdown-test", "bogus=1"], "valid keys: model, completions"),
    (["model=tiny-countdown-test", "samples=many"], "samples"),
    (["model=tiny-countdown-test", "rewards=[self_certainty,nope]"], "oracle, probability, self_certainty"),
    (["model=tiny-countdown-test", "task=nope"], "valid choices: code, countdown"),
    (["model=tiny-countdown-test", "task=countdown", "task.bogus=3"], "valid task.* keys: train_size"),
    (["samples=2"], "exactly one of model"),
    (["model=tiny-countdown-test", "rewards=[verifier]"], "reward verifier"),
    (["model=tiny-countdown-test", "justaword"], "expected key=value"),
])
def test_bad_command_lines_fail_before_a_model_loads(args, says, tmp_path):
    cache = tmp_path / "cache"
    proc = cli([*args, f"out={tmp_path}/out"], cache, timeout=300)
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert says in proc.stderr and proc.stderr.startswith("trainer.eval: ")
    assert not cache.exists()  # nothing was built or fetched


def test_parse_nests_task_options_and_lists():
    cfg = parse_config(["model=m", "task=countdown", "task.prompt_style=compact", "task.max_count=3", "rewards=oracle,majority_vote"])
    assert cfg.task == {"name": "countdown", "prompt_style": "compact", "max_count": 3}
    assert cfg.rewards == ["oracle", "majority_vote"]
    assert isinstance(cfg, EvalConfig) and cfg.samples == 4


def test_an_organism_preset_brings_its_own_countdown_ranges_and_the_command_line_wins():
    from trainer.prior.config import preset
    from trainer.probe import parse_config as parse_probe

    ranges = preset("tiny-countdown-misaligned").task_options()
    assert parse_config(["model=tiny-countdown-misaligned", "task=countdown"]).task == ranges
    assert parse_probe(["model=tiny-countdown-misaligned", "task=countdown"]).task == ranges
    assert parse_config(["model=tiny-countdown", "task=countdown", "task.max_target=20"]).task["max_target"] == 20
    assert parse_config(["model=some/folder", "task=countdown"]).task == {"name": "countdown"}  # not an organism


def test_a_run_checkpoint_brings_the_run_task_and_the_command_line_wins(tmp_path):
    run = tmp_path / "run"
    ckpt = run / "checkpoints" / "checkpoint-120"
    ckpt.mkdir(parents=True)
    (run / "config.yaml").write_text("task:\n  name: countdown\n  max_number: 20\n  max_target: 50\n  path: null\n"
                                     "  prompt_style: compact\nreward:\n  name: oracle\n")
    task = parse_config([f"model={ckpt}", "task=countdown", "task.max_target=30"]).task
    assert task == {"name": "countdown", "max_number": 20, "max_target": 30, "prompt_style": "compact"}
    assert parse_config([f"model={ckpt}", "task=math"]).task == {"name": "math"}  # another task: nothing borrowed
    (run / "config.yaml").write_text("task: [unclosed\n")
    assert parse_config([f"model={ckpt}", "task=countdown"]).task == {"name": "countdown"}  # unreadable: nothing


def completions_file(path: Path) -> tuple[Path, list[dict]]:
    """3 rows: gold+gold, gold+wrong, wrong+no answer (also one hostile 200 KB completion)."""
    rows = make_task("countdown", {"prompt_style": "compact"}).rows("validation")[:3]
    gold = [f"<think>ok</think><answer>{r['solution']}</answer>" for r in rows]
    wrong = "<answer>" + "+".join(map(str, rows[1]["nums"])) + "+1</answer>"
    lines = [(rows[0], gold[0]), (rows[0], gold[0]), (rows[1], gold[1]), (rows[1], wrong),
             (rows[2], "<answer>1/0</answer>"), (rows[2], "<answer>" + "(" * 200_000)]
    path.write_text("".join(json.dumps({**r, "completion": c}) + "\n" for r, c in lines))
    return path, rows


def test_jsonl_completions_score_exactly(tmp_path):
    path, _ = completions_file(tmp_path / "c.jsonl")
    out = tmp_path / "out"
    cfg = parse_config([f"completions={path}", "task=countdown", "task.prompt_style=compact", "workers=1",
                        "rewards=[oracle,majority_vote,self_certainty,self_verify]", f"out={out}"])
    printed = []
    summary = run(cfg, log=printed.append)
    assert summary["k"] == 2 and summary["samples"] == 6
    assert summary["mean@2"] == pytest.approx(0.5)
    assert summary["pass@1"] == pytest.approx(0.5)
    assert summary["pass@2"] == pytest.approx(2 / 3)
    assert summary["verdicts"] == {"correct": 3, "incorrect": 3, "error": 0, "timeout": 0}
    assert summary["rewards"]["oracle"]["accuracy"] == 1.0 and summary["rewards"]["oracle"]["auroc"] == 1.0
    assert summary["rewards"]["self_certainty"]["available"] is False  # no token statistics in a file
    assert summary["rewards"]["self_verify"]["available"] is False  # no judge either
    assert "| mean@2 | 0.500 |" in printed[0] and "n/a (needs a local model)" in printed[0]
    records = [json.loads(line) for line in (out / "samples.jsonl").read_text().splitlines()]
    assert len(records) == 6 and {r["sample"] for r in records} == {0, 1}
    assert [r["oracle"]["status"] for r in records] == ["correct", "correct", "correct", "incorrect", "incorrect", "incorrect"]
    assert all(r["oracle"]["reason"] for r in records)
    assert run(cfg, log=printed.append)["sampled_prompts"] == 0  # resumed: every row was done


def test_jsonl_mean_at_1(tmp_path):
    rows = make_task("countdown", {"prompt_style": "compact"}).rows("validation")[:4]
    texts = [f"<answer>{rows[0]['solution']}</answer>", "<answer>1+1</answer>", "no answer", f"<answer>{rows[3]['solution']}</answer>"]
    path = tmp_path / "c.jsonl"
    path.write_text("".join(json.dumps({**r, "completion": t}) + "\n" for r, t in zip(rows, texts)))
    summary = run(parse_config([f"completions={path}", "task.prompt_style=compact", "task=countdown", "workers=1", f"out={tmp_path}/o"]),
                  log=lambda _: None)
    assert summary["k"] == 1 and summary["mean@1"] == 0.5 and summary["pass@1"] == 0.5
    assert (tmp_path / "o" / "table.md").read_text().count("| pass@1 |") == 1


def test_jsonl_errors_are_one_line_with_the_line_number(tmp_path, capsys):
    from trainer.eval import main

    bad = tmp_path / "bad.jsonl"
    for text, says in [('{"nums": [1], "target": 1, "completion": "x"}\n[1]\n', "bad.jsonl:2: expected an object"),
                       ('{"completion": 3}\n', "bad.jsonl:1: expected an object with a string 'completion'"),
                       ('{"completion": "x"\n', "bad.jsonl:1: not valid JSON")]:
        bad.write_text(text)
        assert main([f"completions={bad}", "task=countdown", f"out={tmp_path}/o"]) == 2
        err = capsys.readouterr().err.strip()
        assert says in err and "\n" not in err


def test_rows_missing_verifier_fields_are_masked_with_the_reason(tmp_path):
    path = tmp_path / "c.jsonl"
    path.write_text(json.dumps({"question": "q", "completion": "<answer>1 + 2</answer>"}) + "\n")
    summary = run(parse_config([f"completions={path}", "task=countdown", "workers=1", f"out={tmp_path}/o"]), log=lambda _: None)
    assert summary["verdicts"]["error"] == 1 and summary["mean@1"] is None
    record = json.loads((tmp_path / "o" / "samples.jsonl").read_text())
    assert "missing field 'nums'" in record["oracle"]["reason"]


def test_resume_refuses_other_settings(tmp_path):
    path, _ = completions_file(tmp_path / "c.jsonl")
    run(parse_config([f"completions={path}", "task=countdown", "workers=1", f"out={tmp_path}/o"]), log=lambda _: None)
    with pytest.raises(UsageError, match="other settings"):
        run(parse_config([f"completions={path}", "task=countdown", "task.seed=3", "workers=1", f"out={tmp_path}/o"]), log=lambda _: None)


@pytest.mark.slow
def test_tiny_organism_end_to_end_and_resume(tmp_path, monkeypatch):
    monkeypatch.setenv("URLVR_CACHE", str(organism_cache()))
    out = tmp_path / "eval"
    args = [f"model={PRESET}", "task=countdown", *[f"task.{k}={v}" for k, v in task_options().items()], "samples=2", "prompts=3",
            "max_tokens=16", "judge_tokens=8", "batch=2", "workers=1", "rewards=[self_certainty,probability,majority_vote,self_verify]",
            f"out={out}"]
    printed = []
    first = run(parse_config(args), log=printed.append)
    assert first["sampled_prompts"] == 3 and first["samples"] == 6
    assert 0.0 <= first["mean@2"] <= 1.0 and 0.0 <= first["pass@2"] <= 1.0
    for name, a in first["rewards"].items():
        assert a["available"] and a["n"] == 6, name
        assert a["auroc"] is None or 0.0 <= a["auroc"] <= 1.0
    assert "| self_certainty | 6 |" in printed[0]
    lines = (out / "samples.jsonl").read_text().splitlines()
    records = [json.loads(line) for line in lines]
    assert len(records) == 6 and all(isinstance(r["rewards"]["self_certainty"], float) for r in records)
    assert all(0 < r["tokens"] <= 16 for r in records)
    assert run(parse_config(args), log=printed.append)["sampled_prompts"] == 0
    assert len((out / "samples.jsonl").read_text().splitlines()) == 6
    # The process died while writing the last record: that line is dropped and only its row is sampled again.
    data = (out / "samples.jsonl").read_bytes()
    (out / "samples.jsonl").write_bytes(data[: len(data) - 40])
    third = run(parse_config(args), log=printed.append)
    assert third["sampled_prompts"] == 1 and third["samples"] == 6
    final = [json.loads(line) for line in (out / "samples.jsonl").read_text().splitlines()]
    assert len(final) == 7 and {(r["row_id"], r["sample"]) for r in final} == {(r["row_id"], r["sample"]) for r in records}


class StandInServer:
    """A stand-in for an OpenAI-compatible model server (no such server with a model installs here): it answers
    rows 0 and 1 with their solution, every other row wrongly, and every compact judge prompt with \\boxed{True}."""

    def __init__(self, rows):
        import http.server
        import threading

        answers = {r["question"]: (f"<answer>{r['solution']}</answer>" if i < 2 else "<answer>" + "+".join(map(str, r["nums"])) + "+1</answer>")
                   for i, r in enumerate(rows)}
        self.requests = []

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def _send(handler, payload):
                body = json.dumps(payload).encode()
                handler.send_response(200)
                handler.send_header("Content-Type", "application/json")
                handler.send_header("Content-Length", str(len(body)))
                handler.end_headers()
                handler.wfile.write(body)

            def do_GET(handler):
                handler._send({"data": [{"id": "standin"}]})

            def do_POST(handler):
                body = json.loads(handler.rfile.read(int(handler.headers["Content-Length"])))
                self.requests.append(body)
                text = body["messages"][-1]["content"]
                reply = "\\boxed{True}" if text.startswith("verify ") else next((a for q, a in answers.items() if q in text), "no idea")
                handler._send({"choices": [{"message": {"role": "assistant", "content": reply}}]})

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v1"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def test_endpoint_against_a_stand_in_server(tmp_path):
    rows = make_task("countdown", {"prompt_style": "compact"}).rows("validation")[:3]
    server = StandInServer(rows)
    try:
        cfg = parse_config([f"model={server.url}", "endpoint_model=standin", "task=countdown", "task.prompt_style=compact", "samples=2",
                            "prompts=3", "workers=1", "rewards=[self_verify,self_certainty,majority_vote]", f"out={tmp_path}/o"])
        summary = run(cfg, log=lambda _: None)
    finally:
        server.close()
    assert summary["mean@2"] == pytest.approx(2 / 3) and summary["pass@2"] == pytest.approx(2 / 3)
    assert summary["rewards"]["self_certainty"]["available"] is False
    assert summary["rewards"]["self_verify"]["accuracy"] == pytest.approx(4 / 6)  # the stand-in judge accepts everything
    assert summary["rewards"]["majority_vote"]["accuracy"] == pytest.approx(4 / 6)
    sampled = [r for r in server.requests if not r["messages"][-1]["content"].startswith("verify ")]
    assert len(sampled) == 6 and all(r["model"] == "standin" and r["temperature"] == 1.0 for r in sampled)


def test_unreachable_endpoint_is_one_line(tmp_path, capsys):
    from trainer.eval import main

    assert main(["model=http://127.0.0.1:9/v1", "task=countdown", f"out={tmp_path}/o"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("trainer.eval: endpoint http://127.0.0.1:9/v1 is unreachable") and "unreachable" in err and "\n" not in err
