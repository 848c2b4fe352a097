"""Trainer-side judges for self_verify: the frozen copy stays frozen, factories pickle, build wires the judge in.

The live-policy judge runs inside a real GRPO run (tests/trainer/test_run_cli.py, reward=self_verify).
"""

import pickle
from types import SimpleNamespace

import pytest

from rewards.judges import EndpointJudge
from trainer.assemble import build_rewards, build_task
from trainer.config import validate_config
from trainer.generation import JUDGES, frozen_judge, judge_factory


def stand_in_trainer(model, tokenizer):
    """Stand-in for the TRL trainer: only what the frozen judge reads (the real trainer is used in test_run_cli)."""
    return SimpleNamespace(model=model, processing_class=tokenizer, accelerator=SimpleNamespace(unwrap_model=lambda m: m))


@pytest.fixture(scope="module")
def policy():
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from trainer.models import resolve_model

    torch.set_num_threads(1)
    path = resolve_model("smollm2-135m")
    tokenizer = AutoTokenizer.from_pretrained(path)
    tokenizer.pad_token = tokenizer.pad_token or tokenizer.eos_token
    return AutoModelForCausalLM.from_pretrained(path), tokenizer


def test_the_frozen_judge_keeps_the_initial_weights(policy):
    import torch

    model, tokenizer = policy
    judge = frozen_judge(stand_in_trainer(model, tokenizer), max_new_tokens=6, temperature=0.0)
    prompts = ["2 + 2 =", "The capital of France is"]
    before = judge(prompts)
    assert len(before) == 2 and all(isinstance(r, str) and r for r in before)
    assert judge.chat == bool(tokenizer.chat_template)
    saved = {k: v.clone() for k, v in model.state_dict().items()}
    try:
        with torch.no_grad():
            for p in model.parameters():
                p.mul_(0.0)  # the policy moves (here: to nothing); the frozen judge must not
        assert judge(prompts) == before
    finally:
        model.load_state_dict(saved)


def test_judge_factories_pickle_and_name_the_valid_kinds():
    factory = judge_factory("frozen", 8, 0.0)
    assert pickle.loads(pickle.dumps(factory)).keywords == {"max_new_tokens": 8, "temperature": 0.0}
    with pytest.raises(ValueError, match="valid choices: policy, frozen"):
        judge_factory("endpoint", 8, 0.0)
    assert set(JUDGES) == {"policy", "frozen"}


def config(reward):
    return validate_config({"run_dir": "/tmp/x", "task": {"name": "countdown", "train_size": 2, "val_size": 0},
                            "reward": reward, "verifiers": {"backend": "inprocess"}})


def test_build_hands_the_reward_its_judge():
    task = build_task(config({"name": "oracle"}))
    rewards = build_rewards(config({"name": "self_verify", "judge": "frozen", "max_judge_tokens": 7, "shadow": ["majority_vote"]}), task)
    factory = rewards.train.options["judge_factory"]
    assert factory.func is JUDGES["frozen"] and factory.keywords["max_new_tokens"] == 7
    assert "judge_factory" not in rewards.shadows["majority_vote"].options
    shadow = build_rewards(config({"name": "oracle", "shadow": ["self_verify"]}), task).shadows["self_verify"]
    assert shadow.options["judge_factory"].func is JUDGES["policy"]
    endpoint = config({"name": "self_verify", "judge": "endpoint", "endpoint": {"url": "http://127.0.0.1:9", "model": "m"}})
    reward = build_rewards(endpoint, task).train
    assert isinstance(reward._judge, EndpointJudge) and "judge_factory" not in reward.options
    reward.bind(object())  # a judge the reward already has stays
    assert isinstance(reward._judge, EndpointJudge)


def sharded_stand_in(model, tokenizer, processes=2, zero_stage=3, fsdp=False):
    """Stand-in for a trainer under DeepSpeed/FSDP (none runs here): what generation reads to decide collectives."""
    plugin = SimpleNamespace(zero_stage=zero_stage) if zero_stage else None
    accelerator = SimpleNamespace(num_processes=processes, state=SimpleNamespace(deepspeed_plugin=plugin),
                                  unwrap_model=lambda m: m)
    return SimpleNamespace(model=object(), processing_class=tokenizer, accelerator=accelerator, is_fsdp_enabled=fsdp,
                           use_vllm=False)


def test_generation_is_collective_with_sharded_weights_or_vllm():
    from trainer.generation import collective, sharded

    assert sharded(sharded_stand_in(None, None)) and sharded(sharded_stand_in(None, None, zero_stage=0, fsdp=True))
    assert not sharded(sharded_stand_in(None, None, zero_stage=2)) and not sharded(sharded_stand_in(None, None, processes=1))
    assert not collective(None) and collective(sharded_stand_in(None, None))
    assert collective(SimpleNamespace(use_vllm=True, accelerator=SimpleNamespace(num_processes=1)))


@pytest.mark.parametrize("mine, others, calls", [(0, 3, 3), (2, 1, 2), (5, 5, 5)])
def test_every_sharded_process_makes_as_many_generate_calls(monkeypatch, mine, others, calls):
    """ZeRO-3 / FSDP: a process with fewer prompts (or none) runs filler batches until it has made as many
    generate calls as the busiest process, and returns only its own completions."""
    import accelerate.utils

    from trainer.generation import generate
    from trainer.models import resolve_model
    from transformers import AutoModelForCausalLM, AutoTokenizer

    path = resolve_model("tiny-countdown")
    model, tokenizer = AutoModelForCausalLM.from_pretrained(path), AutoTokenizer.from_pretrained(path)
    seen = []
    real = model.generate
    monkeypatch.setattr(model, "generate", lambda **kw: seen.append(kw["input_ids"].shape[0]) or real(**kw))
    monkeypatch.setattr(accelerate.utils, "gather_object", lambda objs: [objs[0], others])  # stand-in: 2 processes
    prompts = [f"nums 3 5 {7 + i} target 22\n<think>" for i in range(mine)]
    out = generate(model, tokenizer, prompts, n=2, max_new_tokens=4, batch_size=1, trainer=sharded_stand_in(model, tokenizer))
    assert len(out) == mine and all(len(group) == 2 for group in out)
    assert len(seen) == calls  # max(mine, others) batches of 1


def test_a_process_without_validation_rows_still_joins_a_collective_generation(monkeypatch):
    import trainer.callbacks as callbacks

    calls = []
    monkeypatch.setattr(callbacks, "generate", lambda model, tok, prompts, **kw: calls.append(list(prompts)) or [])
    cb = callbacks.ValidationCallback([], oracle=None, every=10, k=2, max_new_tokens=4, temperature=1.0)
    cb.trainer = sharded_stand_in(None, None)
    assert cb._score([]) == ([], []) and calls == [[]]  # called with nothing: its share of the collective
    cb.trainer = sharded_stand_in(None, None, zero_stage=2)
    assert cb._score([]) == ([], []) and calls == [[]]  # not sharded: nothing to join
