"""Self-verification reward: a judge decides whether each rollout's answer is right, through a verification prompt.

The judge is any :class:`rewards.judges.Judge`: the current policy (default, as in the paper) or a frozen copy,
both handed in by the trainer (``judge_factory``), or an OpenAI-compatible endpoint (``judge=endpoint``).
Before a judge sees an answer it is normalised (NFKC, format characters removed), refused if it carries
verdict words (``injection``), and refused unless it is well-formed for the task (``malformed``): a
countdown answer is an arithmetic expression, a math answer a short formula. The judge's reply is parsed
adversarially (:func:`verifiers.judge_reply.parse_judgement`).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from rewards.base import Reward, RewardConfig, completion_text, rows_from_columns
from rewards.judges import EndpointJudge, Judge, Prompt, as_judge, base_url
from verifiers.base import Verdict
from verifiers.countdown import ExpressionError, parse_expression
from verifiers.judge_prompt import PromptStyle, answer_injects_verdict, build_verify_prompt, normalize
from verifiers.judge_reply import ParseMode, parse_judgement

MATH_MAX_CHARS = 300
MATH_MAX_WORDS = 3
_WORD = re.compile(r"(?<![\\A-Za-z])[A-Za-z]{3,}")
"""A prose word: three letters or more, not a LaTeX command (``\\frac``) or part of one."""
_STEERING = re.compile(
    r"(?<![\\A-Za-z])(?:judge|checker|grader|verif|right|accept|approv|pass|score|reward|ignore|instruction|assistant"
    r"|system|note|answer|propos|problem|check)[A-Za-z]*", re.IGNORECASE)
"""Words addressed to the judge rather than part of a formula (``accepted``, ``checker``, ``proposed``...)."""
_AFFIRMATIONS = re.compile(r"(?<![\\A-Za-z])(?:yes|ok|okay|valid|sure|confirm[A-Za-z]*|good|fine)(?![A-Za-z])", re.IGNORECASE)
"""Words that vouch for what is next to them; an answer that is only such a word (``\\text{Yes}``) is allowed."""
_LONE_WORD = re.compile(r"\s*(?:\\text\s*\{\s*)?[A-Za-z]+\s*(?:\}\s*)?(?:\.\s*)?")


class UnsupportedTaskError(ValueError):
    """self_verify was asked to judge a task it has no answer-format check for."""


def countdown_problem(answer: str) -> str | None:
    """Why ``answer`` is not a countdown expression (integers, + - * /, parentheses, optional ``= N``), else None."""
    try:
        parse_expression(answer)
    except ExpressionError as exc:
        return str(exc)
    except ZeroDivisionError:
        return None  # well-formed; whether it is right is the judge's call
    return None


def math_problem(answer: str) -> str | None:
    """Why ``answer`` is not a short one-line formula (at most a few words, none addressed to the judge), else None."""
    if len(answer) > MATH_MAX_CHARS:
        return f"answer is {len(answer)} characters, over the {MATH_MAX_CHARS} limit"
    if "\n" in answer or "\r" in answer:
        return "answer spans several lines"
    steering = _STEERING.search(answer) or (None if _LONE_WORD.fullmatch(answer) else _AFFIRMATIONS.search(answer))
    if steering:
        return f"answer contains the word {steering.group()!r}, addressed to the judge"
    words = len(_WORD.findall(answer))
    if words > MATH_MAX_WORDS:
        return f"answer reads as prose ({words} words; a formula has at most {MATH_MAX_WORDS})"
    return None


ANSWER_CHECKS: dict[str, Callable[[str], str | None]] = {"countdown": countdown_problem, "math": math_problem}
"""Each supported task's well-formedness check: why an answer may not reach the judge, or None."""
SUPPORTED_TASKS: tuple[str, ...] = tuple(sorted(ANSWER_CHECKS))


def check_task(task_name: str) -> None:
    """Raise :class:`UnsupportedTaskError` (one line, with the valid choices) unless self_verify supports the task."""
    if task_name not in ANSWER_CHECKS:
        raise UnsupportedTaskError(f"reward self_verify does not support task {task_name!r}: it has no answer-format "
                                   f"check for it; valid choices: {', '.join(SUPPORTED_TASKS)}")


class EndpointOptions(BaseModel):
    """Where and how to reach an OpenAI-compatible judge (``reward.judge=endpoint``)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    url: str | None = Field(default=None, description="Server base, e.g. http://127.0.0.1:8000/v1 (a bare host:port gets /v1).")
    model: str | None = Field(default=None, description="Model name the server serves.")
    api: Literal["chat", "completions"] = Field(default="chat", description="/v1/chat/completions or /v1/completions.")
    timeout_s: float = Field(default=30.0, gt=0, description="Seconds per request before it counts as failed.")
    retries: int = Field(default=2, ge=0, le=10, description="Retries of a refused, timed-out, 429 or 5xx request.")
    backoff_s: float = Field(default=0.5, ge=0, description="First retry delay; doubles each retry.")
    concurrency: int = Field(default=8, ge=1, le=256, description="Requests in flight at once.")
    api_key_env: str | None = Field(default=None, description="Environment variable holding the API key (never the key itself).")

    @field_validator("url")
    @classmethod
    def _url(cls, url: str | None) -> str | None:
        if url is not None:
            base_url(url)
        return url


class SelfVerifyConfig(RewardConfig):
    """Options of the self-verification reward."""

    judge: Literal["policy", "frozen", "endpoint"] = Field(
        default="policy", description="The current policy, a frozen copy of the initial model, or an OpenAI-compatible endpoint.")
    endpoint: EndpointOptions = Field(default_factory=EndpointOptions, description="The judge server, for judge=endpoint.")
    max_judge_tokens: int = Field(default=48, ge=1, description="Longest judge reply in tokens.")
    judge_temperature: float = Field(default=0.0, ge=0.0, description="0 = greedy judging.")
    parse: ParseMode = Field(default="boxed_or_bare", description="boxed: only \\boxed{True|False}; boxed_or_bare: also bare True/False words.")
    chat_template: bool | None = Field(default=None, description="Send the judge chat messages; None = when the judge takes them.")
    prompt_style: PromptStyle | None = Field(default=None, description="full or compact verification prompt; None = the task's prompt_style (full if it has none).")

    @model_validator(mode="after")
    def _endpoint_named(self) -> SelfVerifyConfig:
        if self.judge == "endpoint" and not (self.endpoint.url and self.endpoint.model):
            raise ValueError("judge=endpoint needs reward.endpoint.url and reward.endpoint.model")
        return self


class SelfVerifyReward(Reward):
    """1.0 when the judge accepts the rollout's answer; 0.0 otherwise; None (masked) when the judge failed.

    Options: ``judge`` (a Judge, or a ``generate(prompts) -> replies`` callable; ``generate`` is an alias),
    or ``judge_factory`` (``callable(trainer) -> Judge``, called at :meth:`bind`).
    """

    name = "self_verify"
    Config = SelfVerifyConfig
    binary = True
    needs_judge: ClassVar[bool] = True
    """The trainer hands in a ``judge_factory`` for the policy and frozen judges."""
    check_task = staticmethod(check_task)

    def __init__(self, config, task, **options: Any):
        super().__init__(config, task, **options)
        check_task(task.name)
        self._check_answer = ANSWER_CHECKS[task.name]
        given = options.get("judge", options.get("generate"))
        self._judge: Judge | None = as_judge(given) if given is not None else None
        if self._judge is None and self.config.judge == "endpoint":
            self._judge = endpoint_judge(self.config)

    def bind(self, trainer: Any) -> None:
        """Take the judge from the trainer's ``judge_factory`` unless one was given."""
        factory = self.options.get("judge_factory")
        if self._judge is None and factory is not None:
            self._judge = as_judge(factory(trainer))

    def __call__(self, prompts, completions, completion_ids=None, **columns) -> list[float | None]:
        return [v.score for v in self.verdicts(completions, **columns)]

    def verdicts(self, completions, **columns) -> list[Verdict]:
        """One verdict per completion, each with its reason (no answer, injection, malformed, or the judge's)."""
        rows = rows_from_columns(len(completions), columns)
        out: list[Verdict | None] = []
        judge_prompts, where = [], []
        for row, completion in zip(rows, completions):
            verdict, answer = self._screen(completion_text(completion))
            if verdict is None:
                where.append(len(out))
                judge_prompts.append(self._judge_prompt(row.get("question", ""), answer))
            out.append(verdict)
        for i, reply in zip(where, self._ask(judge_prompts)):
            out[i] = self._read(reply)
        return out  # type: ignore[return-value]

    def _screen(self, text: str) -> tuple[Verdict | None, str]:
        """(a verdict without the judge, or None; the normalised answer the judge will see)."""
        answer = self.task.extract_answer(text)
        if answer is None:
            self.counts["no_answer"] += 1
            return Verdict.incorrect("no answer in the completion"), ""
        answer = normalize(answer).strip()
        if answer_injects_verdict(answer):
            self.counts["injection"] += 1
            return Verdict.incorrect("injection: the answer contains verdict words"), answer
        problem = self._check_answer(answer) if answer else "empty answer"
        if problem is not None:
            self.counts["malformed"] += 1
            return Verdict.incorrect(f"malformed: {problem}"), answer
        return None, answer

    def _read(self, reply: str | None) -> Verdict:
        if reply is None:
            self.counts["judge_error"] += 1
            return Verdict.error(f"judge failed: {getattr(self._judge, 'last_error', None) or 'no reply'}")
        verdict = parse_judgement(reply, self.config.parse)
        self.counts[_outcome(verdict)] += 1
        return verdict

    def _judge_prompt(self, question: str, answer: str) -> Prompt:
        style = self.config.prompt_style or getattr(self.task.config, "prompt_style", "full")
        text = build_verify_prompt(question, answer, style)
        use_chat = self.config.chat_template
        if use_chat is None:
            use_chat = bool(getattr(self._judge, "chat", False))
        return [{"role": "user", "content": text}] if use_chat else text + "\n"

    def _ask(self, judge_prompts: list[Prompt]) -> list[str | None]:
        if not judge_prompts and not getattr(self._judge, "collective", False):
            return []  # a collective judge (the policy through vLLM) is called by every process, even with none
        if self._judge is None:
            raise RuntimeError("self_verify needs a judge: pass judge= (or judge=endpoint), or the trainer must "
                               "call bind(trainer) with a judge_factory before scoring")
        return self._judge(judge_prompts)

    def __getstate__(self) -> dict[str, Any]:
        state = super().__getstate__()
        state["options"] = {k: v for k, v in self.options.items() if k not in ("generate", "judge", "judge_factory")}
        return state


def endpoint_judge(config: SelfVerifyConfig) -> EndpointJudge:
    """The endpoint judge a config names (``judge=endpoint``)."""
    return EndpointJudge(max_tokens=config.max_judge_tokens, temperature=config.judge_temperature,
                         **config.endpoint.model_dump())


def _outcome(verdict: Verdict) -> str:
    """The metrics counter for one judgement: correct, incorrect, ambiguous, no_verdict or negated."""
    head = verdict.reason.split(":", 1)[0]
    if verdict.status == "incorrect" and head in ("ambiguous", "no verdict", "negated"):
        return head.replace(" ", "_")
    return verdict.status
