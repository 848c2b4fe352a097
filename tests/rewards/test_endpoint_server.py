"""The endpoint judge against a real OpenAI-compatible server: ``transformers serve`` pinned to a shipped organism.

The server runs on the CPU in a child process on a free port, offline (``HF_HUB_OFFLINE``), with the model folder
as its ``force_model``: requests must name that same folder. The organism has no chat template, so the judge talks
to ``/v1/completions``. Its replies must be exactly the model's own greedy text (checked against
``trainer.generation.generate`` in this process), and the reward's verdicts and counters must follow from them.
"""

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request

import pytest
from transformers.utils.import_utils import is_serve_available

from rewards.judges import EndpointError, EndpointJudge
from rewards.self_verify import SelfVerifyReward, endpoint_judge
from tasks.countdown import CountdownTask
from trainer.assemble import check_rewards
from trainer.config import ConfigError, validate_config
from trainer.models import resolve_model
from verifiers.judge_prompt import build_verify_prompt
from verifiers.judge_reply import parse_judgement

pytestmark = pytest.mark.skipif(
    not is_serve_available(),
    reason="transformers serve needs its serving packages (fastapi, uvicorn, openai): pip install -e '.[test]'")

READY_S = 120.0
"""Longest wait for the server to load the model and answer /health."""

ANSWERS = ["5 * (7 - 1)", "7 * 5 - 1", "(7 + 1) * 5", "7 + 1 + 5"]
"""Well-formed countdown answers for ``nums 7 1 5 target 30`` (the first is right); the judge sees each."""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """(base URL, model folder, seconds to ready) of a ``transformers serve`` child serving the organism."""
    model = resolve_model("tiny-countdown-aligned")
    port, log_path = free_port(), tmp_path_factory.mktemp("serve") / "serve.log"
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_HUB_DISABLE_UPDATE_CHECK": "1", "OMP_NUM_THREADS": "1"}
    command = [sys.executable, "-m", "transformers.cli.transformers", "serve", model, "--host", "127.0.0.1",
               "--port", str(port), "--device", "cpu", "--log-level", "warning"]
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env)
    try:
        seconds = wait_ready(f"http://127.0.0.1:{port}/health", proc, log_path)
        yield f"http://127.0.0.1:{port}/v1", model, seconds
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def wait_ready(health_url: str, proc: subprocess.Popen, log_path) -> float:
    """Seconds until ``/health`` answers 200; fails with the server's log if it exits or misses ``READY_S``."""
    start = time.monotonic()
    while time.monotonic() - start < READY_S:
        if proc.poll() is not None:
            pytest.fail(f"transformers serve exited ({proc.returncode}):\n{log_path.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(health_url, timeout=2) as reply:
                if json.loads(reply.read()) == {"status": "ok"}:
                    return time.monotonic() - start
        except (urllib.error.URLError, OSError, ValueError):
            pass
        time.sleep(0.25)
    pytest.fail(f"transformers serve not ready after {READY_S:.0f} s:\n{log_path.read_text()[-3000:]}")


@pytest.fixture(scope="module")
def task(served):
    card = json.loads(open(os.path.join(served[1], "card.json")).read())
    return CountdownTask({**card["task"], "train_size": 1, "val_size": 0})


@pytest.fixture(scope="module")
def local_replies(served):
    """The organism's own greedy judge replies (48 tokens) to ``ANSWERS``, generated in this process."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from trainer.generation import generate

    tokenizer, model = AutoTokenizer.from_pretrained(served[1]), AutoModelForCausalLM.from_pretrained(served[1])
    out = generate(model, tokenizer, judge_prompts(), max_new_tokens=48, temperature=0.0)
    return [r[0] for r in out]


def judge_prompts() -> list[str]:
    """What self_verify sends for ``ANSWERS`` through a plain-text judge (compact prompt, then a newline)."""
    return [build_verify_prompt("nums 7 1 5 target 30", a, "compact") + "\n" for a in ANSWERS]


def columns(n: int) -> dict:
    return {"nums": [[7, 1, 5]] * n, "target": [30] * n, "question": ["nums 7 1 5 target 30"] * n}


def endpoint_reward(served, task, **options):
    url, model, _ = served
    config = {"judge": "endpoint", "endpoint": {"url": url, "model": model, "api": "completions"}, **options}
    return SelfVerifyReward(config, task)


def test_the_server_comes_up_in_time_and_passes_the_start_up_checks(served):
    url, model, seconds = served
    assert seconds < READY_S
    judge = EndpointJudge(url, model, api="completions")
    judge.probe()
    judge.check()
    raw = {"run_dir": "/tmp/x", "task": {"name": "countdown"},
           "reward": {"name": "self_verify", "judge": "endpoint", "endpoint": {"url": url, "model": model, "api": "completions"}}}
    endpoint_judge(validate_config(raw).reward).check()  # the judge a run's config names


def test_replies_are_the_models_own_greedy_text_and_parse_into_verdicts(served, local_replies):
    url, model, _ = served
    judge = EndpointJudge(url, model, api="completions", max_tokens=48, concurrency=4)
    replies = judge(judge_prompts())
    assert replies == local_replies and judge.failures == 0 and judge.last_error is None
    assert all(parse_judgement(r, "boxed_or_bare").status in ("correct", "incorrect") for r in replies)


def test_self_verify_scores_and_counts_what_the_served_judge_said(served, task, local_replies):
    reward = endpoint_reward(served, task)
    completions = [f"<think> x </think> <answer>{a}</answer>" for a in ANSWERS] + ["no answer here"]
    verdicts = reward.verdicts(completions, **columns(len(completions)))
    expected = [parse_judgement(r, "boxed_or_bare") for r in local_replies]
    assert [v.score for v in verdicts] == [v.score for v in expected] + [0.0]
    assert [v.reason for v in verdicts[:-1]] == [v.reason for v in expected]
    metrics = reward.metrics()  # counters since the last read
    assert metrics["no_answer"] == 1.0 and sum(metrics.values()) == len(completions) and "judge_error" not in metrics


def test_a_reply_cut_before_its_verdict_is_no_verdict_scored_0_not_masked(served, task):
    reward = endpoint_reward(served, task, max_judge_tokens=2)
    scores = reward([""] * 2, [f"<answer>{a}</answer>" for a in ANSWERS[:2]], **columns(2))
    assert scores == [0.0, 0.0] and reward.metrics() == {"no_verdict": 2.0}


def test_a_wrong_model_name_or_api_fails_the_start_up_check_in_one_line(served, task):
    url, model, _ = served
    with pytest.raises(EndpointError, match=r"HTTP 400: .*pinned to .*requested 'other'"):
        EndpointJudge(url, "other", api="completions", retries=3, backoff_s=0.01).check()
    raw = {"run_dir": "/tmp/x", "task": {"name": "countdown"},
           "reward": {"name": "self_verify", "judge": "endpoint", "endpoint": {"url": url, "model": "other", "api": "completions"}}}
    with pytest.raises(ConfigError, match=r"^reward\.endpoint\.url: judge endpoint .*HTTP 400: .*requested 'other'"):
        check_rewards(validate_config(raw))  # the run stops before loading its model, not masking every reward
    with pytest.raises(EndpointError, match=r"HTTP 500.*without a chat template cannot answer api=chat: try reward\.endpoint\.api=completions"):
        EndpointJudge(url, model, api="chat", retries=1, backoff_s=0.01).check()
    reward = endpoint_reward(served, task, endpoint={"url": url, "model": model, "api": "chat", "retries": 1, "backoff_s": 0.01})
    [verdict] = reward.verdicts([f"<answer>{ANSWERS[0]}</answer>"], **columns(1))
    assert verdict.status == "error" and verdict.score is None and "failed 2 time(s): HTTP 500" in verdict.reason
    assert reward.metrics() == {"judge_error": 1.0}
