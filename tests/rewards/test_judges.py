"""The OpenAI-compatible endpoint judge against a real HTTP server on 127.0.0.1.

The *server* is a stand-in (a stdlib ``http.server`` speaking the ``/v1/chat/completions`` and
``/v1/completions`` shapes: no model server installs here); the client is the real ``EndpointJudge``.
"""

import json
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from rewards.judges import EndpointError, EndpointJudge, as_judge, base_url
from rewards.self_verify import SelfVerifyReward
from tasks.countdown import CountdownTask
from trainer.assemble import check_rewards
from trainer.config import ConfigError, validate_config

TASK = CountdownTask({"train_size": 1, "val_size": 0})
ITEM = {"nums": [3, 5, 7], "target": 22, "question": "Make 22 from [3, 5, 7]"}


class StandInServer:
    """Stand-in OpenAI-compatible server: says True when the prompt holds ``3 * 5 + 7``, else False.

    ``script`` is a list of behaviours used one per POST before normal service: an HTTP status code, ``"garbage"``
    (invalid JSON), ``"no choices"``, or ``("sleep", seconds)``. Every request is recorded.
    """

    def __init__(self):
        self.script, self.requests = [], []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                self._send(200, {"data": [{"id": "tiny"}]} if self.path == "/v1/models" else {"error": "no"})

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                server.requests.append({"path": self.path, "body": body, "auth": self.headers.get("Authorization")})
                step = server.script.pop(0) if server.script else None
                if isinstance(step, tuple):
                    time.sleep(step[1])
                elif isinstance(step, int):
                    return self._send(step, {"error": {"message": f"scripted {step}"}})
                elif step == "garbage":
                    return self._raw(200, b"<html>not json{")
                elif step == "no choices":
                    return self._send(200, {"object": "error"})
                text = json.dumps(body)
                reply = "\\boxed{True}" if "3 * 5 + 7" in text else "It misses. \\boxed{False}"
                if self.path == "/v1/chat/completions":
                    self._send(200, {"choices": [{"index": 0, "message": {"role": "assistant", "content": reply}}]})
                elif self.path == "/v1/completions":
                    self._send(200, {"choices": [{"index": 0, "text": reply}]})
                else:
                    self._send(404, {"error": "unknown route"})

            def _send(self, code, payload):
                self._raw(code, json.dumps(payload).encode())

            def _raw(self, code, data):
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                try:
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (timeout test)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def server():
    s = StandInServer()
    yield s
    s.close()


def free_port():
    """A port with nothing listening on it (bound, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def reward_for(url, **endpoint):
    options = {"url": url, "model": "tiny", "backoff_s": 0.01, **endpoint}
    return SelfVerifyReward({"judge": "endpoint", "endpoint": options}, TASK)


def score(reward, answers):
    completions = [f"<answer>{a}</answer>" for a in answers]
    return reward(["p"] * len(answers), completions, **{k: [v] * len(answers) for k, v in ITEM.items()})


@pytest.mark.parametrize("api,path", [("chat", "/v1/chat/completions"), ("completions", "/v1/completions")])
def test_gold_passes_and_wrong_fails_through_either_api(server, api, path):
    reward = reward_for(server.url, api=api)
    assert score(reward, ["3 * 5 + 7", "3 + 5 + 7", "7 * 5 - 3"]) == [1.0, 0.0, 0.0]
    assert {r["path"] for r in server.requests} == {path} and len(server.requests) == 3
    body = server.requests[0]["body"]
    assert body["model"] == "tiny" and body["max_tokens"] == 48 and body["temperature"] == 0.0
    if api == "chat":
        assert body["messages"][0]["role"] == "user" and "Proposed answer" in body["messages"][0]["content"]
    else:
        assert isinstance(body["prompt"], str) and body["prompt"].endswith("\n")
    assert reward.metrics() == {"correct": 1.0, "incorrect": 2.0}


def test_500s_then_success_is_retried_with_backoff(server):
    server.script = [500, 503]
    reward = reward_for(server.url, retries=2, concurrency=1)
    assert score(reward, ["3 * 5 + 7"]) == [1.0]
    assert len(server.requests) == 3


def test_retries_are_bounded_and_429_counts_as_transient(server):
    server.script = [429, 500, 502, 500]
    reward = reward_for(server.url, retries=2, concurrency=1)
    [verdict] = reward.verdicts(["<answer>3 * 5 + 7</answer>"], **{k: [v] for k, v in ITEM.items()})
    assert verdict.status == "error" and verdict.score is None and "failed 3 time(s): HTTP 502" in verdict.reason
    assert len(server.requests) == 3


def test_garbage_json_and_missing_choices_are_masked_without_retry(server):
    for step, why in (("garbage", "invalid JSON"), ("no choices", "no choices[0]")):
        server.script, server.requests = [step], []
        reward = reward_for(server.url, retries=3)
        [verdict] = reward.verdicts(["<answer>3 * 5 + 7</answer>"], **{k: [v] for k, v in ITEM.items()})
        assert verdict.status == "error" and why in verdict.reason and len(server.requests) == 1
        assert reward.metrics() == {"judge_error": 1.0}


def test_a_client_error_is_not_retried_and_names_the_status(server):
    judge = EndpointJudge(server.url.replace("/v1", "/nope"), "tiny", retries=3, backoff_s=0.01)
    with pytest.raises(EndpointError, match=r"HTTP 404.*unknown route"):
        judge.reply("x")
    assert len(server.requests) == 1


def test_a_slow_server_times_out_and_is_masked(server):
    server.script = [("sleep", 3.0), ("sleep", 3.0)]
    reward = reward_for(server.url, timeout_s=0.3, retries=1, concurrency=1)
    [verdict] = reward.verdicts(["<answer>3 * 5 + 7</answer>"], **{k: [v] for k, v in ITEM.items()})
    assert verdict.status == "error" and "failed 2 time(s)" in verdict.reason and "timed out" in verdict.reason.lower()
    assert len(server.requests) == 2


def test_an_unreachable_endpoint_is_one_clear_line_at_start_up_and_masked_mid_run(server):
    url = f"http://127.0.0.1:{free_port()}/v1"
    judge = EndpointJudge(url, "tiny", retries=1, backoff_s=0.01)
    with pytest.raises(EndpointError, match=r"^judge endpoint http://127\.0\.0\.1:\d+/v1 is unreachable \(.*Connection ?Refused") as exc:
        judge.probe()
    assert "\n" not in str(exc.value)
    raw = {"run_dir": "/tmp/x", "task": {"name": "countdown"},
           "reward": {"name": "self_verify", "judge": "endpoint", "endpoint": {"url": url, "model": "tiny"}}}
    with pytest.raises(ConfigError, match="reward.endpoint.url: judge endpoint .* is unreachable"):
        check_rewards(validate_config(raw))
    check_rewards(validate_config({**raw, "reward": {**raw["reward"], "endpoint": {"url": server.url, "model": "tiny"}}}))
    reward = reward_for(server.url, retries=1)  # the server goes away mid-run: masked, never 0
    assert score(reward, ["3 * 5 + 7"]) == [1.0]
    server.close()
    assert score(reward, ["3 * 5 + 7", "3 + 5 + 7"]) == [None, None]
    assert reward.metrics() == {"correct": 1.0, "judge_error": 2.0}


def test_the_api_key_comes_from_the_named_environment_variable(server, monkeypatch):
    monkeypatch.setenv("URLVR_TEST_JUDGE_KEY", "sk-test")
    EndpointJudge(server.url, "tiny", api_key_env="URLVR_TEST_JUDGE_KEY").reply("3 * 5 + 7")
    EndpointJudge(server.url, "tiny").reply("3 * 5 + 7")
    assert [r["auth"] for r in server.requests] == ["Bearer sk-test", None]


def test_base_urls_and_plain_callables():
    assert base_url("http://h:8000") == "http://h:8000/v1"
    assert base_url("http://h:8000/v1/") == "http://h:8000/v1"
    assert base_url("https://h/openai/v1/chat/completions") == "https://h/openai/v1"
    with pytest.raises(ValueError, match="must be http"):
        base_url("h:8000")
    judge = as_judge(lambda prompts: ["\\boxed{True}"] * len(prompts))
    assert judge.chat is False and judge(["a", "b"]) == ["\\boxed{True}"] * 2
    with pytest.raises(RuntimeError, match="2 replies for 1 prompts"):
        as_judge(lambda prompts: ["x", "y"])(["a"])
