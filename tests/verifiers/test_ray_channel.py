"""The socket transport's two ends in this process, without Ray: replies that halve what is left, in order, an error reply
that ends a sub-batch without ending the server, keys enforced, and Nagle off on both ends of TCP."""

from __future__ import annotations

import socket
from multiprocessing import AuthenticationError

import pytest

from verifiers.base import Verdict
from verifiers.ray_channel import Channel, ChannelServer, from_columns, reply_sizes, to_columns

KEY = b"k" * 32


def parity_columns(items, completions):
    """A verifier stand-in: correct when the completion is the item's number doubled."""
    verdicts = [Verdict.correct("doubled") if c == str(2 * i) else Verdict.incorrect(f"{c} is not 2*{i}") for i, c in zip(items, completions)]
    return to_columns(verdicts), len(items) // 10  # pretend one worker restart per 10 items


def exchange(channel: Channel, items, completions) -> list:
    """Send a sub-batch, read replies until every item is answered or an error ends it."""
    channel.send(items, completions)
    replies = []
    while sum(len(r[0][0]) for r in replies if r[0]) < len(items):
        replies.append(channel.recv())
        if replies[-1][2] is not None:
            break
    return replies


@pytest.fixture(params=[False, True], ids=["unix", "tcp"])
def served(request):
    server = ChannelServer(parity_columns, min_chunk=2)
    channel = Channel(server.open(KEY, tcp=request.param), KEY, timeout=5)
    yield server, channel
    channel.close()


@pytest.mark.parametrize(
    "n,min_chunk,sizes",
    [(1024, 32, [512, 256, 128, 64, 32, 32]), (20, 32, [20]), (10, 2, [5, 2, 2, 1]), (1, 1, [1]), (0, 8, []), (100, 60, [60, 40])],
)
def test_reply_sizes_halve_what_is_left_down_to_the_minimum(n, min_chunk, sizes):
    spans = reply_sizes(n, min_chunk)
    assert [hi - lo for lo, hi in spans] == sizes
    assert [lo for lo, _ in spans] == [sum(sizes[:k]) for k in range(len(sizes))]


def test_replies_come_in_chunks_in_order(served):
    _, channel = served
    items = list(range(10))
    replies = exchange(channel, items, [str(2 * i) if i % 3 else "x" for i in items])
    assert [len(r[0][0]) for r in replies] == [5, 2, 2, 1] and [r[1] for r in replies] == [0, 0, 0, 0]
    verdicts = [v for r in replies for v in from_columns(r[0])]
    assert [v.status for v in verdicts] == ["incorrect" if i % 3 == 0 else "correct" for i in items]
    assert verdicts[3].reason == "x is not 2*3"


class Bomb:
    """Pickles here; raises ZeroDivisionError when the server unpickles it."""

    def __reduce__(self):
        import operator

        return operator.truediv, (1, 0)


def test_a_batch_that_fails_gets_one_error_reply_and_the_connection_serves_on(served):
    _, channel = served
    replies = exchange(channel, [1, Bomb()], ["2", "2"])
    assert replies == [(None, 0, "the verifier actor failed on this batch: ZeroDivisionError: division by zero")]
    replies = exchange(channel, [1, 2], ["2", "5"])
    assert [v.status for v in from_columns(replies[0][0])] == ["correct", "incorrect"]


def test_a_client_without_the_key_is_refused_and_others_still_connect():
    server = ChannelServer(parity_columns, min_chunk=2)
    address = server.open(KEY, tcp=False)
    with pytest.raises((AuthenticationError, EOFError, ConnectionError)):
        Channel(address, b"wrong" * 8, timeout=5)
    channel = Channel(address, KEY, timeout=5)
    assert from_columns(exchange(channel, [3], ["6"])[0][0])[0].status == "correct"
    channel.close()


def test_a_client_that_stalls_the_handshake_does_not_block_others():
    server = ChannelServer(parity_columns, min_chunk=2)
    family, where = server.open(KEY, tcp=False)
    with socket.socket(socket.AF_UNIX) as stalled:
        stalled.connect(where)  # connects, never answers the challenge
        channel = Channel((family, where), KEY, timeout=5)
        assert from_columns(exchange(channel, [4], ["8"])[0][0])[0].status == "correct"
        channel.close()


def test_tcp_turns_nagle_off_at_both_ends():
    """Replies are small and streamed: with Nagle and delayed ACKs each could wait 40 ms."""
    server = ChannelServer(parity_columns, min_chunk=2)
    channel = Channel(server.open(KEY, tcp=True), KEY, timeout=5)
    exchange(channel, [1], ["2"])  # the server has accepted by the time it answers
    for conn in (channel.conn, server.connections[-1]):
        with socket.fromfd(conn.fileno(), socket.AF_INET, socket.SOCK_STREAM) as sock:
            assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)
    channel.close()


def test_connecting_to_a_listener_that_is_gone_fails_fast():
    with pytest.raises(OSError):
        Channel(("AF_UNIX", "\0urlvr-verifier-nobody-here"), KEY, timeout=2)
