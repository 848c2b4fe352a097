"""Rewards that call a verifier pool score in the background, so a slow verifier does not serialise the step.

A reward with an async form (``ascore``: the pool-backed ones) is started on an event loop in a daemon thread as
soon as the rollouts exist; the trainer meanwhile computes policy statistics, runs the rewards that need its own
thread (those that generate with the policy, or read its statistics), and goes on with the step. Each pool call
stays one batch per reward, with the pool's own deadline.
"""

from __future__ import annotations

import asyncio
import atexit
from collections.abc import Mapping
from concurrent.futures import Future
from typing import Any

from rewards.base import Reward
from rewards.verifier import scores_async


class StartedEarly:
    """The training reward as TRL's async reward function: it answers with the scores the trainer started for
    this very batch (``start``), or scores the batch itself when none were started."""

    def __init__(self, reward: Reward):
        self.reward = reward
        self._started: tuple[Any, Future] | None = None

    @property
    def __name__(self) -> str:  # TRL names reward columns after this
        return self.reward.name

    def start(self, completions: Any, future: Future) -> None:
        self._started = (completions, future)

    async def __call__(self, prompts, completions, completion_ids=None, **columns) -> list[float | None]:
        started, self._started = self._started, None
        if started is not None and (started[0] is completions or started[0] == completions):
            return await asyncio.wrap_future(started[1])
        return await self.reward.ascore(prompts=prompts, completions=completions, completion_ids=completion_ids, **columns)


def event_loop(trainer: Any) -> asyncio.AbstractEventLoop:
    """TRL's daemon event loop (it starts one when a reward function is async), else one of our own."""
    loop = getattr(trainer, "async_loop", None)
    if loop is None:
        from trl.trainer.utils import shutdown_event_loop_in_daemon, start_event_loop_in_daemon

        thread, loop, ready = start_event_loop_in_daemon(name="urlvr-rewards")
        ready.wait()
        atexit.register(shutdown_event_loop_in_daemon, thread, loop)
        trainer.async_loop = loop
    return loop


def start(rewards: list[Reward], loop: asyncio.AbstractEventLoop, batch: Mapping[str, Any]) -> dict[int, Future]:
    """Start every reward that scores async on ``batch`` (TRL's keyword arguments); ``{id(reward): future}``.

    Each reward's pool and items are prepared here, on the caller's thread; only the pool call runs on the loop."""
    futures: dict[int, Future] = {}
    for reward in rewards:
        if scores_async(reward) and id(reward) not in futures:
            futures[id(reward)] = asyncio.run_coroutine_threadsafe(reward.ascore(**batch), loop)
    return futures


def resolve(value: Any) -> Any:
    """A score list, waiting for it if it is still being computed; dict values likewise."""
    if isinstance(value, Future):
        return value.result()
    if isinstance(value, dict):
        return {k: resolve(v) for k, v in value.items()}
    return value
