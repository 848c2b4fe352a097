"""Stand-ins for vLLM (not installable here) around which trainer.generation's vLLM paths are tested: TRL's
server client, TRL's VLLMGeneration holding a colocated engine, vLLM's ``LLM`` and ``SamplingParams``.

Each records what it was asked, in order, in a shared ``log``. A completion is its prompt's text followed by
``|j`` (the j-th of n), so a test can tell which prompt every reply came back to.
"""

from __future__ import annotations

import sys
import types
from types import SimpleNamespace


def reply_ids(tokenizer, prompt_ids, j):
    return tokenizer(tokenizer.decode(prompt_ids) + f"|{j}", add_special_tokens=False)["input_ids"]


class FakeVLLMClientStandIn:
    """Stand-in for TRL's ``VLLMClient`` (server mode): ``generate`` returns n completions per prompt, prompt-major."""

    def __init__(self, tokenizer, log):
        self.tokenizer, self.log = tokenizer, log

    def generate(self, prompts, n=1, max_tokens=16, temperature=1.0, **_):
        self.log.append(("client.generate", [self.tokenizer.decode(p) for p in prompts], n, max_tokens, temperature))
        return {"completion_ids": [reply_ids(self.tokenizer, p, j) for p in prompts for j in range(n)]}


class SamplingParamsStandIn:
    """Stand-in for ``vllm.SamplingParams``."""

    def __init__(self, n=1, max_tokens=16, temperature=1.0):
        self.n, self.max_tokens, self.temperature = n, max_tokens, temperature


class FakeLLMStandIn:
    """Stand-in for a colocated ``vllm.LLM``: refuses to generate while asleep."""

    def __init__(self, tokenizer, log):
        self.tokenizer, self.log = tokenizer, log
        self.awake = {"weights": False, "kv_cache": False}

    def wake_up(self, tags):
        self.log.append(("wake_up", tuple(tags)))
        self.awake.update({t: True for t in tags})

    def sleep(self, level):
        self.log.append(("sleep", level))
        self.awake = {"weights": False, "kv_cache": False}

    def generate(self, prompts, sampling_params, use_tqdm=False):
        assert all(self.awake.values()), f"generate on a sleeping engine: {self.awake}"
        p = sampling_params
        self.log.append(("llm.generate", [self.tokenizer.decode(x["prompt_token_ids"]) for x in prompts], p.n, p.max_tokens, p.temperature))
        return [SimpleNamespace(outputs=[SimpleNamespace(token_ids=reply_ids(self.tokenizer, x["prompt_token_ids"], j)) for j in range(p.n)])
                for x in prompts]


class FakeVLLMGenerationStandIn:
    """Stand-in for TRL's ``VLLMGeneration``: the engine (colocate) or the client (server), and ``sync_weights``,
    which, like TRL's, wakes the weights first in sleep mode."""

    def __init__(self, tokenizer, log, mode, sleep_mode=False):
        self.log, self.mode, self.enable_sleep_mode = log, mode, sleep_mode
        self.tensor_parallel_size = 1
        self.llm = FakeLLMStandIn(tokenizer, log) if mode == "colocate" else None
        self.vllm_client = FakeVLLMClientStandIn(tokenizer, log) if mode == "server" else None
        self._llm_weights_sleeping = sleep_mode
        if self.llm is not None and not sleep_mode:
            self.llm.awake = {"weights": True, "kv_cache": True}

    def sync_weights(self):
        if self.mode == "colocate" and self.enable_sleep_mode:
            self.llm.wake_up(tags=["weights"])
            self._llm_weights_sleeping = False
        self.log.append(("sync_weights",))


def install_fake_vllm(monkeypatch):
    """``import vllm`` finds a module holding only the SamplingParams stand-in."""
    monkeypatch.setitem(sys.modules, "vllm", types.SimpleNamespace(SamplingParams=SamplingParamsStandIn))


def trainer_standin(tokenizer, engine, accelerator, step=3, loaded=3):
    """Stand-in for the GRPO trainer: what trainer.generation reads when the trainer uses vLLM."""
    return SimpleNamespace(use_vllm=True, vllm_mode=engine.mode, vllm_generation=engine, processing_class=tokenizer,
                           accelerator=accelerator, state=SimpleNamespace(global_step=step), _last_loaded_step=loaded,
                           model=None)
