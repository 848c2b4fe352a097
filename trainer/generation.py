"""Text generation outside TRL's rollout loop: validation samples and the self-verification judges.

Uses vLLM when the trainer has it (colocated engine or ``trl vllm-serve`` client), else transformers ``generate``.
The judges (:func:`policy_judge`, :func:`frozen_judge`) are handed to the ``self_verify`` reward through
:func:`judge_factory`, so the reward never reaches into the trainer.
"""

from __future__ import annotations

import copy
import functools
from collections.abc import Callable, Sequence
from contextlib import contextmanager
from typing import Any

import torch

from rewards.judges import CallableJudge, Judge


def render_prompts(tokenizer: Any, prompts: Sequence[Any]) -> list[str]:
    """Plain strings stay as they are; chat messages go through the tokenizer's chat template."""
    out = []
    for p in prompts:
        if isinstance(p, str):
            out.append(p)
        else:
            out.append(tokenizer.apply_chat_template(list(p), tokenize=False, add_generation_prompt=True))
    return out


@torch.no_grad()
def generate(
    model: Any,
    tokenizer: Any,
    prompts: Sequence[Any],
    n: int = 1,
    max_new_tokens: int = 128,
    temperature: float = 1.0,
    batch_size: int = 16,
    trainer: Any = None,
) -> list[list[str]]:
    """``n`` completions for each prompt (sampled, or greedy when temperature is 0), as a list per prompt."""
    texts = render_prompts(tokenizer, prompts)
    if trainer is not None and getattr(trainer, "use_vllm", False):
        return _generate_vllm(trainer, texts, n, max_new_tokens, temperature)
    batches = [texts[start : start + batch_size] for start in range(0, len(texts), batch_size)]
    rounds = _rounds(trainer, len(batches))
    with _for_generation(model, trainer) as gen_model:
        results: list[list[str]] = []
        for k in range(rounds):
            if k < len(batches):
                results.extend(_generate_hf(gen_model, tokenizer, batches[k], n, max_new_tokens, temperature))
            else:  # a filler batch, so that every process makes as many generate calls (see _rounds)
                _generate_hf(gen_model, tokenizer, [tokenizer.eos_token or "0"], 1, max_new_tokens, temperature)
    return results


def sharded(trainer: Any) -> bool:
    """True when the policy's weights are sharded over several processes (DeepSpeed ZeRO-3, FSDP)."""
    accelerator = getattr(trainer, "accelerator", None)
    if accelerator is None or getattr(accelerator, "num_processes", 1) < 2:
        return False
    plugin = getattr(getattr(accelerator, "state", None), "deepspeed_plugin", None)
    return (plugin is not None and getattr(plugin, "zero_stage", 0) == 3) or bool(getattr(trainer, "is_fsdp_enabled", False))


def collective(trainer: Any) -> bool:
    """True when every process must generate together, even one with no prompts: vLLM (server mode gathers the
    prompts, weight syncs are collective), or sharded weights (gathering them, and ``generate``'s
    ``synced_gpus`` steps, are collectives)."""
    return trainer is not None and (bool(getattr(trainer, "use_vllm", False)) or sharded(trainer))


def _rounds(trainer: Any, batches: int) -> int:
    """How many ``generate`` calls this process makes: its own batches, or with sharded weights the most any
    process has, so that none waits forever for another in a collective."""
    if not sharded(trainer):
        return batches
    from accelerate.utils import gather_object

    return max(gather_object([batches]))


@contextmanager
def _for_generation(model: Any, trainer: Any):
    """The model ready to generate: unwrapped, with gradient checkpointing (which disables the KV cache) off."""
    if trainer is not None and model is trainer.accelerator.unwrap_model(trainer.model):
        from trl.models.utils import unwrap_model_for_generation

        with unwrap_model_for_generation(trainer.model, trainer.accelerator) as unwrapped:
            yield unwrapped
    else:
        yield model


def _generate_hf(model, tokenizer, texts: list[str], n: int, max_new_tokens: int, temperature: float) -> list[list[str]]:
    side = tokenizer.padding_side
    tokenizer.padding_side = "left"
    try:
        enc = tokenizer(texts, return_tensors="pt", padding=True, add_special_tokens=False).to(model.device)
    finally:
        tokenizer.padding_side = side
    sampling = {"do_sample": True, "temperature": temperature} if temperature > 0 else {"do_sample": False}
    was_training = model.training
    model.eval()
    try:
        out = model.generate(
            **enc, max_new_tokens=max_new_tokens, use_cache=True, num_return_sequences=n, pad_token_id=tokenizer.pad_token_id, **sampling
        )
    finally:
        model.train(was_training)
    decoded = tokenizer.batch_decode(out[:, enc["input_ids"].shape[1] :], skip_special_tokens=True)
    return [decoded[i * n : (i + 1) * n] for i in range(len(texts))]


def _generate_vllm(trainer, texts: list[str], n: int, max_new_tokens: int, temperature: float) -> list[list[str]]:
    """Through TRL's vLLM (``trainer.vllm_generation``), as TRL generates rollouts. Every process must call it,
    with its own prompts (none is fine): server mode gathers them, and weight syncs are collective."""
    engine = trainer.vllm_generation
    if trainer.state.global_step != trainer._last_loaded_step:  # validation after an optimizer step, say
        engine.sync_weights()
        trainer._last_loaded_step = trainer.state.global_step
    tokenizer = trainer.processing_class
    prompt_ids = tokenizer(texts, add_special_tokens=False)["input_ids"] if texts else []
    if trainer.vllm_mode == "server":
        ids = _server_generate(trainer.accelerator, engine, prompt_ids, n, max_new_tokens, temperature)
    else:
        ids = _colocate_generate(engine, prompt_ids, n, max_new_tokens, temperature)
    decoded = tokenizer.batch_decode(ids, skip_special_tokens=True) if ids else []
    return [decoded[i * n : (i + 1) * n] for i in range(len(texts))]


def _server_generate(accelerator, engine, prompt_ids: list[list[int]], n: int, max_new_tokens: int, temperature: float):
    """Server mode: TRL's client lives on the main process only. Every process's prompts are gathered there (in
    process order), generated in one request, and each process gets back the completions of its own prompts."""
    from accelerate.utils import broadcast_object_list, gather_object

    shares = gather_object([prompt_ids]) if accelerator.num_processes > 1 else [prompt_ids]
    payload = None
    if accelerator.is_main_process:
        flat = [ids for share in shares for ids in share]
        out = engine.vllm_client.generate(prompts=flat, n=n, max_tokens=max_new_tokens, temperature=temperature)["completion_ids"] if flat else []
        payload, start = [], 0
        for share in shares:  # n completions per prompt, prompt-major, as the client returns them
            payload.append(out[start : start + len(share) * n])
            start += len(share) * n
    box = [payload]
    if accelerator.num_processes > 1:
        broadcast_object_list(box, from_process=0)
    return box[0][accelerator.process_index]


def _colocate_generate(engine, prompt_ids: list[list[int]], n: int, max_new_tokens: int, temperature: float):
    """Colocate mode: this process's engine, woken for the call when sleep mode is on (as TRL does: level-2 sleep
    discards the weights, so they are pushed again first) and put back to sleep after it. With tensor parallelism
    the engine's ranks generate the prompts of the whole group, and each keeps its own."""
    from vllm import SamplingParams

    if engine.enable_sleep_mode and engine._llm_weights_sleeping:
        engine.sync_weights()
    if engine.enable_sleep_mode:
        engine.llm.wake_up(tags=["kv_cache"])
    try:
        shares, mine = _tensor_parallel_shares(engine, prompt_ids)
        flat = [ids for share in shares for ids in share]
        outputs = []
        if flat:
            params = SamplingParams(n=n, max_tokens=max_new_tokens, temperature=temperature)
            outputs = engine.llm.generate([{"prompt_token_ids": ids} for ids in flat], sampling_params=params, use_tqdm=False)
        start = sum(len(share) for share in shares[:mine])
        return [list(o.token_ids) for out in outputs[start : start + len(prompt_ids)] for o in out.outputs]
    finally:
        if engine.enable_sleep_mode:
            engine.llm.sleep(level=2)
            engine._llm_weights_sleeping = True


def _tensor_parallel_shares(engine, prompt_ids: list[list[int]]) -> tuple[list[list[list[int]]], int]:
    """The prompts of every rank of this engine's tensor-parallel group, and this rank's place among them."""
    if engine.tensor_parallel_size <= 1:
        return [prompt_ids], 0
    import torch.distributed as dist

    shares: list = [None] * engine.tensor_parallel_size
    dist.all_gather_object(shares, prompt_ids, group=engine.tp_group)
    return shares, dist.get_rank(group=engine.tp_group)


def policy_judge(trainer: Any, max_new_tokens: int, temperature: float) -> Judge:
    """A judge that is the live policy: the trainer's current weights (through vLLM when the trainer uses it)."""
    tokenizer = trainer.processing_class

    def replies(prompts: list[Any]) -> list[str]:
        model = trainer.accelerator.unwrap_model(trainer.model)
        out = generate(model, tokenizer, prompts, n=1, max_new_tokens=max_new_tokens, temperature=temperature, trainer=trainer)
        return [r[0] for r in out]

    judge = CallableJudge(replies, chat=bool(getattr(tokenizer, "chat_template", None)))
    judge.collective = collective(trainer)  # every process calls it, even with no prompts
    return judge


def frozen_judge(trainer: Any, max_new_tokens: int, temperature: float) -> Judge:
    """A judge that is a frozen copy of the policy as it is now (at bind time: the initial model)."""
    tokenizer = trainer.processing_class
    model = frozen_copy(trainer.accelerator.unwrap_model(trainer.model))

    def replies(prompts: list[Any]) -> list[str]:
        out = generate(model, tokenizer, prompts, n=1, max_new_tokens=max_new_tokens, temperature=temperature)
        return [r[0] for r in out]

    return CallableJudge(replies, chat=bool(getattr(tokenizer, "chat_template", None)))


JUDGES = {"policy": policy_judge, "frozen": frozen_judge}


def judge_factory(kind: str, max_new_tokens: int, temperature: float) -> Callable[[Any], Judge]:
    """``callable(trainer) -> Judge`` for ``reward.judge=policy|frozen`` (picklable: a partial of a module function)."""
    if kind not in JUDGES:
        raise ValueError(f"no trainer-side judge {kind!r}; valid choices: {', '.join(JUDGES)}")
    return functools.partial(JUDGES[kind], max_new_tokens=max_new_tokens, temperature=temperature)


def frozen_copy(model: Any) -> Any:
    """A frozen judge model: the initial weights reloaded from their checkpoint, free of the trainer's hooks and state.

    A deep copy of the live policy also copies what the trainer attached to it, and judged garbage during
    training; reloading is clean. Models without a loadable checkpoint fall back to a deep copy.
    """
    path = getattr(model.config, "_name_or_path", "") or ""
    try:
        from transformers import AutoModelForCausalLM

        judge = AutoModelForCausalLM.from_pretrained(path, dtype=model.dtype).to(model.device)
    except (OSError, ValueError):
        judge = copy.deepcopy(model)
    return judge.eval().requires_grad_(False)
