"""Self-verification reward: the model judges its own (question, proposed answer) through a verification prompt.

By default the judge is the current policy (as in the paper); ``judge=frozen`` uses a frozen copy of the
initial model instead. Verdicts are parsed adversarially (see ``verifiers.self_verify.parse_judgement``).
"""

from __future__ import annotations

import copy
from typing import Any, Literal

from pydantic import Field

from rewards.base import Reward, RewardConfig, completion_text, rows_from_columns
from verifiers.self_verify import ParseMode, PromptStyle, answer_injects_verdict, build_verify_prompt, parse_judgement


class SelfVerifyConfig(RewardConfig):
    """Options of the self-verification reward."""

    judge: Literal["policy", "frozen"] = Field(default="policy", description="Judge with the current policy weights, or a frozen copy of the initial model.")
    max_judge_tokens: int = Field(default=48, ge=1, description="Longest judge reply in tokens.")
    judge_temperature: float = Field(default=0.0, ge=0.0, description="0 = greedy judging.")
    parse: ParseMode = Field(default="boxed", description="boxed: only \\boxed{True|False}; boxed_or_bare: also bare True/False words.")
    chat_template: bool | None = Field(default=None, description="Wrap the judge prompt in the chat template; None = when the tokenizer has one.")
    prompt_style: PromptStyle | None = Field(default=None, description="full or compact verification prompt; None = the task's prompt_style (full if it has none).")


class SelfVerifyReward(Reward):
    """1.0 when the judge accepts the rollout's extracted answer, else 0.0 (no answer, refusal, ambiguity)."""

    name = "self_verify"
    Config = SelfVerifyConfig
    binary = True

    def __init__(self, config, task, **options: Any):
        super().__init__(config, task, **options)
        self._trainer: Any = None
        self._judge_model: Any = None
        self._generate = options.get("generate")
        """Optional callable(list[prompt]) -> list[str], used instead of a trainer (tests, endpoints)."""

    def bind(self, trainer: Any) -> None:
        self._trainer = trainer
        if self.config.judge == "frozen":
            self._judge_model = _frozen_copy(trainer.accelerator.unwrap_model(trainer.model))

    def __call__(self, prompts, completions, completion_ids=None, **columns) -> list[float | None]:
        rows = rows_from_columns(len(completions), columns)
        scores: list[float | None] = [0.0] * len(completions)
        judge_prompts, where = [], []
        for i, (row, completion) in enumerate(zip(rows, completions)):
            answer = self.task.extract_answer(completion_text(completion))
            if answer is None:
                self.counts["no_answer"] += 1
            elif answer_injects_verdict(answer):
                self.counts["injection"] += 1
            else:
                judge_prompts.append(self._judge_prompt(row.get("question", ""), answer))
                where.append(i)
        for i, reply in zip(where, self._judge(judge_prompts)):
            verdict = parse_judgement(reply, self.config.parse)
            scores[i] = verdict.score
            self.counts[_outcome(verdict)] += 1
        return scores

    def _judge_prompt(self, question: str, answer: str) -> Any:
        style = self.config.prompt_style or getattr(self.task.config, "prompt_style", "full")
        text = build_verify_prompt(question, answer, style)
        use_chat = self.config.chat_template
        tokenizer = self._tokenizer()
        if use_chat is None:
            use_chat = bool(tokenizer is not None and getattr(tokenizer, "chat_template", None))
        return [{"role": "user", "content": text}] if use_chat else text + "\n"

    def _tokenizer(self) -> Any:
        return getattr(self._trainer, "processing_class", None) if self._trainer is not None else None

    def _judge(self, judge_prompts: list[Any]) -> list[str]:
        if not judge_prompts:
            return []
        if self._generate is not None:
            return list(self._generate(judge_prompts))
        if self._trainer is None:
            raise RuntimeError("self_verify needs a judge: the trainer must call bind(trainer) before scoring")
        from trainer.generation import generate

        trainer = self._trainer
        model = self._judge_model or trainer.accelerator.unwrap_model(trainer.model)
        replies = generate(
            model,
            trainer.processing_class,
            judge_prompts,
            n=1,
            max_new_tokens=self.config.max_judge_tokens,
            temperature=self.config.judge_temperature,
            trainer=trainer if self._judge_model is None else None,
        )
        return [r[0] for r in replies]

    def __getstate__(self) -> dict[str, Any]:
        state = super().__getstate__()
        state["options"] = {k: v for k, v in self.options.items() if k != "generate"}
        return state


def _frozen_copy(model: Any) -> Any:
    """A frozen judge: the initial weights reloaded from their checkpoint, free of the trainer's hooks and state.

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


def _outcome(verdict) -> str:
    """The metrics counter for one judgement: correct, incorrect, ambiguous or no_verdict."""
    for prefix in ("ambiguous", "no verdict"):
        if verdict.reason.startswith(prefix):
            return prefix.replace(" ", "_")
    return verdict.status
