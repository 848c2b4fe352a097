"""``make_pool`` and the in-process and ``local`` backends: one interface, verdicts in order, stats for the logs."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from verifiers.pool import POOL_BACKENDS, make_pool
from verifiers.registry import RegistryError

ITEM = {"answer": "42"}
STAT_KEYS = {"calls", "items", "items_per_s", "p50_s", "p99_s", "errors", "timeouts"}


def test_every_backend_is_registered():
    assert {"inprocess", "local", "ray"} <= set(POOL_BACKENDS.names())


def test_unknown_backend_lists_the_valid_ones(scripted):
    with pytest.raises(RegistryError, match="unknown verifier pool backend 'threads'.*inprocess, local, ray"):
        make_pool(scripted, backend="threads")


@pytest.mark.parametrize("backend", ["inprocess", "local"])
def test_pool_scores_in_input_order_and_reports_stats(scripted, backend):
    with make_pool(scripted, backend=backend) as pool:
        assert pool.name == "scripted"
        verdicts = pool.verify_batch([ITEM] * 4, ["42", "41", "raise", "42"])
        assert [v.status for v in verdicts] == ["correct", "incorrect", "error", "correct"]
        stats = pool.stats()
    assert STAT_KEYS <= set(stats)
    assert stats["calls"] == 1 and stats["items"] == 4 and stats["errors"] == 1
    # the trainer logs these as verifier/<name>/<key>: flat names, float values
    assert all("/" not in k and isinstance(v, float) for k, v in stats.items())


def test_local_pool_enforces_the_timeout_option_and_counts_restarts(scripted):
    with make_pool(scripted, backend="local", workers=2, timeout=1.0) as pool:
        verdicts = pool.verify_batch([ITEM] * 3, ["spin", "42", "exit:9"])
        stats = pool.stats()
    assert [v.status for v in verdicts] == ["timeout", "correct", "error"]
    assert "1s" in verdicts[0].reason
    assert stats["timeouts"] == 1 and stats["errors"] == 1 and stats["worker_restarts"] == 2


def test_verifier_config_timeout_is_the_default_limit(scripted):
    with make_pool(scripted, {"timeout": 0.75}, backend="local") as pool:
        (verdict,) = pool.verify_batch([ITEM], ["spin"])
    assert verdict.status == "timeout" and "0.75s" in verdict.reason


def test_local_pool_rejects_unknown_options(scripted):
    with pytest.raises(ValidationError, match="wokers"):
        make_pool(scripted, backend="local", wokers=2)
    with pytest.raises(ValidationError, match="timeout"):
        make_pool(scripted, backend="local", timeout=-1)


def test_verifier_config_is_validated(scripted):
    with pytest.raises(ValidationError, match="colour"):
        make_pool(scripted, {"colour": "red"}, backend="local")


def test_pool_options_hold_the_defaults_once_and_pass_each_backend_only_its_own():
    from verifiers.pool import PoolOptions

    default = PoolOptions()
    assert (default.backend, default.workers, default.timeout, default.transport) == ("ray", 2, None, "socket")
    assert default.backend_kwargs() == {"workers": 2, "transport": "socket"}
    local = PoolOptions(backend="local", workers=3, timeout=1.5, backend_options={"chunk_size": 8})
    assert local.backend_kwargs() == {"workers": 3, "timeout": 1.5, "chunk_size": 8}
    assert PoolOptions(backend="inprocess", workers=3).backend_kwargs() == {}
    assert PoolOptions(backend="local", transport="socket").backend_kwargs() == {"workers": 2}  # a restated default is harmless


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"backend": "threads"}, "unknown verifier pool backend 'threads'.*inprocess, local, ray"),
        ({"backend": "local", "transport": "ray"}, "transport: only for the ray backend, not 'local'"),
        ({"backend": "inprocess", "address": "auto"}, "address: only for the ray backend"),
        ({"workers": 0}, "workers"),
        ({"wokers": 2}, "wokers"),
        ({"transport": "carrier-pigeon"}, "'socket' or 'ray'"),
    ],
)
def test_pool_options_refuse_what_no_backend_takes(fields, message):
    from verifiers.pool import PoolOptions

    with pytest.raises(ValidationError, match=message):
        PoolOptions(**fields)


def test_pool_options_build_the_pool_and_backend_options_are_checked_by_the_backend(scripted):
    from verifiers.pool import PoolOptions

    with PoolOptions(backend="local", workers=1, timeout=0.5).make(scripted) as pool:
        assert [v.status for v in pool.verify_batch([ITEM] * 2, ["42", "spin"])] == ["correct", "timeout"]
    with pytest.raises(ValidationError, match="min_chunk"):
        PoolOptions(backend="local", backend_options={"min_chunk": 4}).make(scripted)
