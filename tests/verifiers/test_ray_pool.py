"""The ``ray`` backend on a real local Ray, over both transports (the actors' sockets and Ray calls): batches
split across actors, per-item timeouts inside actors, a killed or stopped (SIGSTOP) actor's in-flight batch
retried once (then ``error``), unpicklable items reported alone, with the counts in ``stats()``."""

from __future__ import annotations

import os
import signal
import threading
import time

import pytest
import ray

from verifiers.pool import make_pool

ITEM = {"answer": "42"}
pytestmark = pytest.mark.usefixtures("ray_session")


@pytest.fixture(params=["socket", "ray"])
def transport(request) -> str:
    return request.param


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


def test_batches_split_across_actors_keep_order_and_timeouts(scripted, transport):
    with make_pool(scripted, backend="ray", workers=2, timeout=0.5, batch_size=16, transport=transport) as pool:
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


def test_killed_actor_batch_is_retried_and_every_item_gets_a_verdict(scripted, transport):
    with make_pool(scripted, backend="ray", workers=2, timeout=2.0, transport=transport) as pool:
        killer = kill_actor(pool, after=0.5)
        verdicts = pool.verify_batch([ITEM] * 40, ["sleep:0.05"] * 40)  # >= 1 s per actor
        killer.join()
        stats = pool.stats()
    assert [v.status for v in verdicts] == ["correct"] * 40
    assert stats["actor_restarts"] >= 1 and stats["retried_batches"] >= 1


def test_batch_whose_actor_dies_twice_comes_back_as_errors_and_the_pool_recovers(scripted, transport):
    with make_pool(scripted, backend="ray", workers=1, timeout=2.0, transport=transport) as pool:
        first, second = kill_actor(pool, after=0.5), kill_actor(pool, after=2.5, once_retried=True)
        verdicts = pool.verify_batch([ITEM] * 40, ["sleep:0.1"] * 40)  # >= 4 s per attempt: outlives each kill
        first.join(), second.join()
        stats = pool.stats()
        # the socket transport keeps replies that arrived before the second death; the rest are errors
        answered = [v.status for v in verdicts].index("error")
        assert all(v.status == "correct" for v in verdicts[:answered]) and answered <= 20
        assert all(v.status == "error" and v.score is None and "died twice" in v.reason for v in verdicts[answered:])
        assert stats["retried_batches"] == 1 and stats["actor_restarts"] == 2 and stats["errors"] == 40 - answered
        assert [v.status for v in pool.verify_batch([ITEM] * 3, ["42", "0", "42"])] == ["correct", "incorrect", "correct"]


def actor_pid(pool, slot: int = 0) -> int:
    """The process of the slot's actor (``ready`` answers even while the actor works on a batch)."""
    return ray.get(pool.actors[slot].ready.remote(), timeout=120)


def gone(pid: int, within: float = 60.0) -> bool:
    """True once ``pid`` has exited (a zombie counts: it no longer runs), polling up to ``within`` seconds."""
    end = time.monotonic() + within
    while time.monotonic() < end:
        try:
            with open(f"/proc/{pid}/stat") as f:
                if f.read().rsplit(")", 1)[1].split()[0] == "Z":
                    return True
        except (FileNotFoundError, ProcessLookupError):
            return True
        time.sleep(0.1)
    return False


def resume(pids: list[int]) -> None:
    for pid in pids:  # never leave a stopped process behind, whatever the test saw
        try:
            os.kill(pid, signal.SIGCONT)
        except ProcessLookupError:
            pass


def test_a_stopped_actor_is_replaced_at_the_deadline_and_its_batch_retried(scripted, transport):
    with make_pool(scripted, backend="ray", workers=1, timeout=1.0, deadline_grace=3.0, transport=transport) as pool:
        stopped = actor_pid(pool)
        os.kill(stopped, signal.SIGSTOP)
        try:
            verdicts = pool.verify_batch([ITEM] * 4, ["42", "41", "42", "sleep:0.1"])  # deadline: 3 s + 4 x 1 s
            stats = pool.stats()
            assert [v.status for v in verdicts] == ["correct", "incorrect", "correct", "correct"]
            assert stats["retried_batches"] == 1 and stats["actor_restarts"] == 1 and stats["errors"] == 0
            assert actor_pid(pool) != stopped and gone(stopped)  # the hung actor was killed, not left behind
        finally:
            resume([stopped])


def test_an_actor_that_hangs_again_on_the_retry_gives_unresponsive_errors_and_the_pool_recovers(scripted, transport):
    stopped: list[int] = []
    with make_pool(scripted, backend="ray", workers=1, timeout=2.0, deadline_grace=3.0, transport=transport) as pool:
        stopped.append(actor_pid(pool))
        os.kill(stopped[0], signal.SIGSTOP)

        def stop_the_replacement() -> None:
            while pool.retried_batches == 0:  # counted once the fresh actor is up and reached, as the retry is sent
                time.sleep(0.02)
            stopped.append(actor_pid(pool))
            os.kill(stopped[1], signal.SIGSTOP)

        thread = threading.Thread(target=stop_the_replacement, daemon=True)
        thread.start()
        try:
            verdicts = pool.verify_batch([ITEM] * 6, ["sleep:1"] * 6)  # 6 s of work: it is stopped well before the end
            thread.join(timeout=120)
            stats = pool.stats()
            assert len(stopped) == 2
            assert all(v.status == "error" and v.score is None and "verifier actor unresponsive" in v.reason for v in verdicts), verdicts
            assert stats["retried_batches"] == 1 and stats["actor_restarts"] == 2 and stats["errors"] == 6
            assert [v.status for v in pool.verify_batch([ITEM] * 2, ["42", "0"])] == ["correct", "incorrect"]
            assert all(gone(pid) for pid in stopped)
        finally:
            resume(stopped)


class Unpicklable:
    """Refuses to be pickled, as a lock or an open file in an item would."""

    def __reduce__(self):
        raise TypeError("cannot pickle this item")


def test_an_unpicklable_item_gets_its_own_error_and_the_others_their_verdicts(scripted, transport):
    with make_pool(scripted, backend="ray", workers=2, timeout=2.0, batch_size=2, transport=transport) as pool:
        items = [ITEM, {"answer": Unpicklable()}, ITEM, ITEM, {"answer": "7"}]
        verdicts = pool.verify_batch(items, ["42", "42", Unpicklable(), "41", "7"])
        stats = pool.stats()
    assert [v.status for v in verdicts] == ["correct", "error", "error", "incorrect", "correct"]
    assert all("cannot be pickled" in v.reason and "TypeError" in v.reason for v in verdicts[1:3])
    assert stats["errors"] == 2 and stats["retried_batches"] == 0


def test_actors_that_cannot_be_placed_fail_with_a_clear_error(scripted):
    with pytest.raises(RuntimeError, match="did not start within 2s; each reserves 1000 CPU"):
        make_pool(scripted, backend="ray", num_cpus=1000, start_timeout=2)


class Bomb:
    """Pickles fine here but raises ZeroDivisionError when the actor unpickles it."""

    def __reduce__(self):
        import operator

        return operator.truediv, (1, 0)


def test_an_actor_side_failure_becomes_error_verdicts_not_an_exception(scripted, transport):
    with make_pool(scripted, backend="ray", workers=1, timeout=2.0, transport=transport) as pool:
        verdicts = pool.verify_batch([ITEM, {"answer": Bomb()}], ["42", "42"])
        assert [v.status for v in verdicts] == ["error", "error"]
        assert "verifier actor failed" in verdicts[0].reason and "ZeroDivisionError" in verdicts[0].reason
        assert [v.status for v in pool.verify_batch([ITEM], ["42"])] == ["correct"]


def test_bounded_verifier_runs_in_the_actor_with_the_same_verdicts(transport):
    items = [{"nums": [3, 5, 7], "target": 22}] * 40
    completions = ["<answer>3 * 5 + 7</answer>", "<answer>3 + 5 + 7</answer>", "<answer>" + "(" * 5000 + "</answer>", ""] * 10
    with make_pool("countdown", backend="ray", workers=2, batch_size=8, transport=transport) as pool:
        assert ray.get(pool.actors[0].__ray_call__.remote(lambda actor: actor.runner is None))  # no worker hop
        verdicts = pool.verify_batch(items, completions)
    with make_pool("countdown", backend="inprocess") as reference:
        expected = reference.verify_batch(items, completions)
    assert [(v.status, v.score, v.reason) for v in verdicts] == [(v.status, v.score, v.reason) for v in expected]
    assert [v.status for v in verdicts[:4]] == ["correct", "incorrect", "incorrect", "incorrect"]


def countdown_batch(n: int) -> tuple[list[dict], list[str]]:
    """``n`` countdown items, every third answered wrongly."""
    items = [{"nums": [k, 2, 3], "target": k * 2 + 3} for k in range(n)]
    completions = [f"<answer>{k} * 2 + 3</answer>" if k % 3 else f"<answer>{k} + 2 + 3</answer>" for k in range(n)]
    return items, completions


def test_socket_replies_stream_in_chunks_and_land_in_order_across_actors_and_sub_batches():
    items, completions = countdown_batch(1000)
    with make_pool("countdown", backend="ray", workers=2, batch_size=300, min_chunk=7) as pool:  # 4 sub-batches, 7 replies each
        verdicts = pool.verify_batch(items, completions)
        assert pool.channels[0] is not None and pool.channels[0].family == "AF_UNIX"  # same node: a local socket
    assert [v.status for v in verdicts] == ["incorrect" if k % 3 == 0 else "correct" for k in range(1000)]
    assert verdicts[10].reason.startswith("10 * 2 + 3 = 23")


def test_socket_to_an_actor_on_another_node_is_tcp(monkeypatch):
    """One machine cannot host a second Ray node's network, so the driver claims another node id: the actor
    then listens on TCP, as it would for a driver elsewhere in the cluster."""
    from verifiers.ray_pool import RayPool

    monkeypatch.setattr(RayPool, "_driver_node", staticmethod(lambda: "another-node"))
    items, completions = countdown_batch(200)
    with make_pool("countdown", backend="ray", workers=1, min_chunk=16) as pool:
        assert pool.channels[0].family == "AF_INET"
        verdicts = pool.verify_batch(items, completions)
    assert [v.status for v in verdicts] == ["incorrect" if k % 3 == 0 else "correct" for k in range(200)]


def test_socket_refuses_a_client_without_the_pool_key_and_keeps_serving_the_pool():
    from multiprocessing import AuthenticationError

    from verifiers.ray_channel import Channel

    with make_pool("countdown", backend="ray", workers=1) as pool:
        address, key = ray.get(pool.actors[0].open_channel.remote(pool._authkey, pool._node))
        assert key == pool._authkey  # the first opener's key
        with pytest.raises((AuthenticationError, EOFError, ConnectionError)):
            Channel(address, b"not the key" * 3, timeout=5)
        items, completions = countdown_batch(6)
        assert [v.status for v in pool.verify_batch(items, completions)] == ["incorrect", "correct", "correct"] * 2


def test_socket_carries_megabyte_batches():
    items, completions = countdown_batch(64)
    completions = [c + " " * 100_000 for c in completions]  # 6.4 MB each way in, every reason back
    with make_pool("countdown", backend="ray", workers=1) as pool:
        verdicts = pool.verify_batch(items, completions)
    assert [v.status for v in verdicts] == ["incorrect" if k % 3 == 0 else "correct" for k in range(64)]


def test_pool_options_reject_an_unknown_transport():
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match="'socket' or 'ray'"):
        make_pool("countdown", backend="ray", transport="carrier-pigeon")


HEAD = """
import sys, ray
ray.init(num_cpus=1, include_dashboard=False)
print(ray.get_runtime_context().gcs_address, flush=True)
sys.stdin.read()  # the cluster lives until the test closes stdin
"""

JOINER = """
import json, sys, ray
from verifiers.pool import make_pool
with make_pool("countdown", backend="ray", address=sys.argv[1], workers=1) as pool:
    verdicts = pool.verify_batch([{"nums": [3, 5, 7], "target": 22}] * 2, ["<answer>3*5+7</answer>", "<answer>3+5+7</answer>"])
    print(json.dumps({"gcs": ray.get_runtime_context().gcs_address, "cpus": ray.cluster_resources().get("CPU"),
                      "statuses": [v.status for v in verdicts], "family": pool.channels[0].family}))
"""


def test_address_joins_an_existing_cluster():
    """A second driver (a fresh process: this one is already connected to its own Ray) joins a running
    1-CPU cluster by address, and its actors run there."""
    import json
    import subprocess
    import sys

    head = subprocess.Popen([sys.executable, "-c", HEAD], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        address = head.stdout.readline().strip()
        assert ":" in address, address
        out = subprocess.run([sys.executable, "-c", JOINER, address], capture_output=True, text=True, timeout=180)
        assert out.returncode == 0, out.stderr[-2000:]
        got = json.loads(out.stdout.strip().splitlines()[-1])
    finally:
        head.communicate(input="", timeout=60)
    assert got == {"gcs": address, "cpus": 1.0, "statuses": ["correct", "incorrect"], "family": "AF_UNIX"}
