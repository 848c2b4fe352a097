"""trainer.generation's vLLM paths, around stand-ins for vLLM (tests/trainer/vllm_standins.py; vLLM is not
installable here): server mode from two real processes through the main process's client, colocate mode with
the engine woken for the call and put back to sleep, validation and the policy judge through them."""

import json
import os
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

from tests.trainer.vllm_standins import FakeVLLMGenerationStandIn, install_fake_vllm, trainer_standin
from trainer.generation import generate, policy_judge

ONE_PROCESS = SimpleNamespace(num_processes=1, process_index=0, is_main_process=True, unwrap_model=lambda m: m)
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def tokenizer_path():
    from trainer.models import resolve_model

    return str(resolve_model("smollm2-135m"))


@pytest.fixture(scope="module")
def tokenizer(tokenizer_path):
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(tokenizer_path)


def expected(prompts, n):
    return [[f"{p}|{j}" for j in range(n)] for p in prompts]


def test_server_mode_from_two_processes_goes_through_the_main_process_client(tmp_path, tokenizer_path):
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
           "-m", "tests.trainer.vllm_server_worker", str(tmp_path), tokenizer_path]
    proc = subprocess.run(cmd, cwd=ROOT, env={**os.environ, "OMP_NUM_THREADS": "1"}, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    main, other = (json.loads((tmp_path / f"rank{r}.json").read_text()) for r in (0, 1))
    assert main["first"] == expected(["alpha", "beta", "gamma"], 2) and other["first"] == expected(["delta"], 2)
    assert main["second"] == expected(["alpha", "beta", "gamma"], 1) and other["second"] == []
    # one request per call, on the main process only, with every process's prompts in process order
    assert main["log"] == [["sync_weights"], ["client.generate", ["alpha", "beta", "gamma", "delta"], 2, 7, 0.0],
                           ["client.generate", ["alpha", "beta", "gamma"], 1, 5, 0.5]]
    assert other["log"] == [["sync_weights"]]  # the weight sync is collective: every process takes part
    assert main["loaded"] == other["loaded"] == 5


def test_colocate_sleep_mode_wakes_the_engine_for_the_call_and_puts_it_back(monkeypatch, tokenizer):
    install_fake_vllm(monkeypatch)
    log = []
    engine = FakeVLLMGenerationStandIn(tokenizer, log, "colocate", sleep_mode=True)
    trainer = trainer_standin(tokenizer, engine, ONE_PROCESS)
    assert generate(None, tokenizer, ["one", "two"], n=2, max_new_tokens=9, temperature=0.0, trainer=trainer) == expected(["one", "two"], 2)
    # level-2 sleep dropped the weights: they are pushed again (sync_weights wakes them), then the cache wakes
    assert log == [("wake_up", ("weights",)), ("sync_weights",), ("wake_up", ("kv_cache",)),
                   ("llm.generate", ["one", "two"], 2, 9, 0.0), ("sleep", 2)]
    assert engine._llm_weights_sleeping and not any(engine.llm.awake.values())


def test_colocate_without_sleep_mode_only_generates_and_syncs_stale_weights(monkeypatch, tokenizer):
    install_fake_vllm(monkeypatch)
    log = []
    engine = FakeVLLMGenerationStandIn(tokenizer, log, "colocate")
    trainer = trainer_standin(tokenizer, engine, ONE_PROCESS, step=2, loaded=1)  # after an optimizer step
    assert generate(None, tokenizer, ["x"], n=1, max_new_tokens=3, temperature=1.0, trainer=trainer) == expected(["x"], 1)
    assert log == [("sync_weights",), ("llm.generate", ["x"], 1, 3, 1.0)]
    assert trainer._last_loaded_step == 2
    log.clear()
    generate(None, tokenizer, [], n=1, max_new_tokens=3, temperature=1.0, trainer=trainer)  # no prompts: no call
    assert log == []


def test_validation_generates_through_the_engine(monkeypatch, tokenizer):
    from rewards import REWARDS
    from tasks.countdown import CountdownTask
    from trainer.callbacks import ValidationCallback

    install_fake_vllm(monkeypatch)
    log = []
    engine = FakeVLLMGenerationStandIn(tokenizer, log, "colocate", sleep_mode=True)
    task = CountdownTask({"train_size": 2, "val_size": 2})
    rows = [{"prompt": "Make 15 from [3, 5]", "nums": [3, 5], "target": 15}]
    validation = ValidationCallback(rows, REWARDS.get("oracle")({}, task, pool={"backend": "inprocess"}), every=1, k=2,
                                    max_new_tokens=8, temperature=1.0)
    validation.trainer = trainer_standin(tokenizer, engine, ONE_PROCESS)
    figures = validation.evaluate()
    assert figures["val/accuracy"] == 0.0 and figures["val/masked"] == 0.0  # "Make 15 ...|j" has no answer
    assert [e[0] for e in log] == ["wake_up", "sync_weights", "wake_up", "llm.generate", "sleep"]
    assert log[3][1:] == (["Make 15 from [3, 5]"], 2, 8, 1.0)


def test_the_policy_judge_through_vllm_is_called_by_every_process_even_with_nothing_to_judge(monkeypatch, tokenizer):
    from rewards import REWARDS
    from tasks.countdown import CountdownTask

    install_fake_vllm(monkeypatch)
    log = []
    engine = FakeVLLMGenerationStandIn(tokenizer, log, "colocate")
    trainer = trainer_standin(tokenizer, engine, ONE_PROCESS)
    judge = policy_judge(trainer, max_new_tokens=4, temperature=0.0)
    assert judge.collective
    reward = REWARDS.get("self_verify")({}, CountdownTask({"train_size": 2, "val_size": 0}), judge=judge)
    assert reward(["p"], ["no answer here"], question=["q"]) == [0.0]  # screened out: nothing reaches the judge
    assert log == []  # no prompts, so no generate, but the judge was entered (the collective path ran)
    calls = []
    reward._judge = type("Recorder", (), {"chat": False, "collective": True, "__call__": lambda self, p: calls.append(p) or []})()
    reward(["p"], ["no answer here"], question=["q"])
    assert calls == [[]]
    assert not policy_judge(SimpleNamespace(processing_class=tokenizer), 4, 0.0).collective
