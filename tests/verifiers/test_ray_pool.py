"""The ``ray`` backend on a real local Ray: batches split across actors, per-item timeouts inside actors,
and a killed actor's in-flight batch retried once (then ``error``), with the counts in ``stats()``."""

from __future__ import annotations

import threading
import time

import pytest
import ray

from verifiers.pool import make_pool

ITEM = {"answer": "42"}
pytestmark = pytest.mark.usefixtures("ray_session")


def kill_actor(pool, after: float, once_retried: bool = False) -> threading.Thread:
    """Kill actor 0 (Ray restarts it) ``after`` seconds from now, or from the first retry if ``once_retried``."""

    def run() -> None:
        while once_retried and pool.retried_batches == 0:
            time.sleep(0.05)
        time.sleep(after)
        ray.kill(pool.actors[0], no_restart=False)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


def test_batches_split_across_actors_keep_order_and_timeouts(scripted):
    with make_pool(scripted, backend="ray", workers=2, timeout=0.5, batch_size=16) as pool:
        answers = [str(i % 5) for i in range(100)]
        completions = [a if i % 4 else "no" for i, a in enumerate(answers)]
        completions[37] = "spin"
        completions[70] = "exit:4"
        verdicts = pool.verify_batch([{"answer": a} for a in answers], completions)
        stats = pool.stats()
    expected = ["incorrect" if i % 4 == 0 else "correct" for i in range(100)]
    expected[37], expected[70] = "timeout", "error"
    assert [v.status for v in verdicts] == expected
    assert stats["timeouts"] == 1 and stats["errors"] == 1 and stats["worker_restarts"] == 2
    assert stats["actor_restarts"] == 0 and stats["retried_batches"] == 0


def test_killed_actor_batch_is_retried_and_every_item_gets_a_verdict(scripted):
    with make_pool(scripted, backend="ray", workers=2, timeout=2.0) as pool:
        killer = kill_actor(pool, after=0.5)
        verdicts = pool.verify_batch([ITEM] * 40, ["sleep:0.05"] * 40)  # >= 1 s per actor
        killer.join()
        stats = pool.stats()
    assert [v.status for v in verdicts] == ["correct"] * 40
    assert stats["actor_restarts"] >= 1 and stats["retried_batches"] >= 1


def test_batch_whose_actor_dies_twice_comes_back_as_errors_and_the_pool_recovers(scripted):
    with make_pool(scripted, backend="ray", workers=1, timeout=2.0) as pool:
        first, second = kill_actor(pool, after=0.5), kill_actor(pool, after=2.5, once_retried=True)
        verdicts = pool.verify_batch([ITEM] * 40, ["sleep:0.1"] * 40)  # >= 4 s per attempt: outlives each kill
        first.join(), second.join()
        stats = pool.stats()
        assert all(v.status == "error" and v.score is None for v in verdicts)
        assert "died twice" in verdicts[0].reason
        assert stats["retried_batches"] == 1 and stats["actor_restarts"] == 2 and stats["errors"] == 40
        assert [v.status for v in pool.verify_batch([ITEM] * 3, ["42", "0", "42"])] == ["correct", "incorrect", "correct"]


def test_actors_that_cannot_be_placed_fail_with_a_clear_error(scripted):
    with pytest.raises(RuntimeError, match="did not start within 2s; each reserves 1000 CPU"):
        make_pool(scripted, backend="ray", num_cpus=1000, start_timeout=2)


class Bomb:
    """Pickles fine here but raises ZeroDivisionError when the actor unpickles it."""

    def __reduce__(self):
        import operator

        return operator.truediv, (1, 0)


def test_an_actor_side_failure_becomes_error_verdicts_not_an_exception(scripted):
    with make_pool(scripted, backend="ray", workers=1, timeout=2.0) as pool:
        verdicts = pool.verify_batch([ITEM, {"answer": Bomb()}], ["42", "42"])
        assert [v.status for v in verdicts] == ["error", "error"]
        assert "verifier actor failed" in verdicts[0].reason and "ZeroDivisionError" in verdicts[0].reason
        assert [v.status for v in pool.verify_batch([ITEM], ["42"])] == ["correct"]


def test_bounded_verifier_runs_in_the_actor_with_the_same_verdicts():
    items = [{"nums": [3, 5, 7], "target": 22}] * 40
    completions = ["<answer>3 * 5 + 7</answer>", "<answer>3 + 5 + 7</answer>", "<answer>" + "(" * 5000 + "</answer>", ""] * 10
    with make_pool("countdown", backend="ray", workers=2, batch_size=8) as pool:
        assert ray.get(pool.actors[0].__ray_call__.remote(lambda actor: actor.runner is None))  # no worker hop
        verdicts = pool.verify_batch(items, completions)
    with make_pool("countdown", backend="inprocess") as reference:
        expected = reference.verify_batch(items, completions)
    assert [(v.status, v.score, v.reason) for v in verdicts] == [(v.status, v.score, v.reason) for v in expected]
    assert [v.status for v in verdicts[:4]] == ["correct", "incorrect", "incorrect", "incorrect"]
