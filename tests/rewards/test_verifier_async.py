"""The async form of verifier-backed rewards: same scores, masking and counters as the sync call, one batched pool
call per reward, and two rewards' pool calls run at the same time."""

import asyncio
import threading
import time

from trl.trainer.utils import is_async_callable

from rewards import REWARDS
from rewards.verifier import AsyncReward, scores_async
from tasks.countdown import CountdownTask
from verifiers.base import Verdict

TASK = CountdownTask({"train_size": 4, "val_size": 0})
ITEM = {"nums": [3, 5, 7], "target": 22, "question": "Make 22 from [3, 5, 7]"}
COMPLETIONS = ["<answer>3 * 5 + 7</answer>", "<answer>3 + 5 + 7</answer>", "nothing"]


def columns(n, item=ITEM):
    return {k: [v] * n for k, v in item.items()}


class SlowPoolStandIn:
    """Stand-in for a VerifierPool: each batch takes ``seconds``, then returns the scripted verdicts; records the
    batches and the thread each ran on."""

    def __init__(self, verdicts, seconds):
        self.verdicts, self.seconds = verdicts, seconds
        self.batches, self.threads = [], []

    def verify_batch(self, items, completions):
        self.batches.append(list(completions))
        self.threads.append(threading.get_ident())
        time.sleep(self.seconds)
        return list(self.verdicts)

    def stats(self):
        return {"calls": float(len(self.batches))}

    def close(self):
        pass


def oracle_with(pool):
    reward = REWARDS.get("oracle")({}, TASK, pool={"backend": "inprocess"})
    reward._pool = pool
    return reward


def test_async_form_scores_and_counts_like_the_sync_call_with_a_real_pool():
    sync, concurrent = (REWARDS.get("oracle")({}, TASK, pool={"backend": "local", "workers": 1}) for _ in range(2))
    try:
        expected = sync(["p"] * 3, COMPLETIONS, **columns(3))
        got = asyncio.run(concurrent.ascore(prompts=["p"] * 3, completions=COMPLETIONS, **columns(3)))
        assert got == expected == [1.0, 0.0, 0.0]
        broken = {"nums": [3, 5, 7], "question": "q"}  # no target: an error verdict, masked as None
        assert asyncio.run(concurrent.ascore(prompts=["p"], completions=COMPLETIONS[:1], **columns(1, broken))) == [None]
        m = concurrent.metrics()
        assert (m["correct"], m["incorrect"], m["error"], m["calls"], m["items"]) == (1, 2, 1, 2, 4)
    finally:
        sync.close()
        concurrent.close()


def test_timeouts_and_errors_stay_none_and_each_batch_is_one_pool_call():
    pool = SlowPoolStandIn([Verdict.correct(), Verdict.timeout("deadline"), Verdict.error("worker died")], 0.0)
    reward = oracle_with(pool)
    assert asyncio.run(reward.ascore(prompts=["p"] * 3, completions=COMPLETIONS, **columns(3))) == [1.0, None, None]
    assert pool.batches == [COMPLETIONS]
    m = reward.metrics()
    assert (m["correct"], m["timeout"], m["error"]) == (1, 1, 1)


def test_two_rewards_pool_calls_overlap_off_the_calling_thread():
    pools = [SlowPoolStandIn([Verdict.correct()], 0.5) for _ in range(2)]
    rewards = [oracle_with(p) for p in pools]

    async def both():
        return await asyncio.gather(*(r.ascore(prompts=["p"], completions=COMPLETIONS[:1], **columns(1)) for r in rewards))

    start = time.perf_counter()
    assert asyncio.run(both()) == [[1.0], [1.0]]
    assert time.perf_counter() - start < 0.9  # 0.5 s each, run side by side (sequential: >= 1.0 s)
    assert threading.get_ident() not in pools[0].threads + pools[1].threads


def test_the_async_reward_is_what_trl_gathers_concurrently():
    reward = oracle_with(SlowPoolStandIn([Verdict.correct()], 0.0))
    func = AsyncReward(reward)
    assert is_async_callable(func) and not is_async_callable(reward)
    assert func.__name__ == "oracle"
    assert asyncio.run(func(prompts=["p"], completions=COMPLETIONS[:1], completion_ids=None, **columns(1))) == [1.0]
    assert scores_async(reward) and not scores_async(REWARDS.get("majority_vote")({}, TASK))


def test_the_training_reward_started_early_is_scored_once():
    from trl.trainer.utils import start_event_loop_in_daemon

    from trainer.overlap import StartedEarly, start

    pool = SlowPoolStandIn([Verdict.correct(), Verdict.timeout("deadline")], 0.0)
    reward = oracle_with(pool)
    func = StartedEarly(reward)
    thread, loop, ready = start_event_loop_in_daemon(name="test-rewards")
    ready.wait()
    try:
        batch = {"prompts": ["p"] * 2, "completions": COMPLETIONS[:2], **columns(2)}
        futures = start([reward, reward], loop, batch)  # the same reward twice (oracle = training reward): one call
        func.start(batch["completions"], futures[id(reward)])
        run = lambda: asyncio.run_coroutine_threadsafe(func(**batch), loop).result()  # noqa: E731
        assert run() == [1.0, None] and len(pool.batches) == 1  # TRL's call got the scores started early
        assert run() == [1.0, None] and len(pool.batches) == 2  # nothing started: it scores the batch itself
    finally:
        loop.call_soon_threadsafe(loop.stop)
