"""The trusted judge process, driven by a scripted peer that plays the sandboxed runner (honest or hostile).

The judge is the real ``judge.py`` process; the peer is this test holding the other end of the socket, so each
protocol break can be produced exactly. Nothing the peer sends may yield a pass it did not earn, or a masked
verdict, and the peer never sees an expected value.
"""

from __future__ import annotations

import json
import socket
import threading

import pytest

from verifiers.code.judges import JudgeProcess
from verifiers.code.scoring import read_judge, verdict

pytestmark = pytest.mark.timeout(120)

TESTS = ["assert f(2) == 'SECRET-4'\nassert f(3) == 'SECRET-6'"]


def job(tests=TESTS, seconds=3.0, **kw):
    return {"tests": tests, "entry_point": None, "setup": "", "starter": "", "seconds": seconds, "answer_bytes": 4096,
            **kw}


def run(peer, request=None):
    """The judge's reply to ``request`` while ``peer(sock, received)`` plays the runner; and what the peer got."""
    judge = JudgeProcess()
    ours, theirs = socket.socketpair()
    received: list[bytes] = []
    try:
        judge.submit(request or job(), theirs.fileno())
        theirs.close()
        t = threading.Thread(target=peer, args=(ours, received), daemon=True)
        t.start()
        reply = judge.reply(30.0)
        t.join(10)
    finally:
        ours.close()
        judge.kill()
    return reply, b"".join(received)


def send(sock, obj):
    sock.sendall((obj if isinstance(obj, str) else json.dumps(obj)).encode() + b"\n")


def calls(sock, received):
    """Yield each call the judge sends until it closes the socket."""
    buf = b""
    while True:
        chunk = sock.recv(65536)
        if not chunk:
            return
        received.append(chunk)
        buf += chunk
        while b"\n" in buf:
            line, buf = buf.split(b"\n", 1)
            yield json.loads(line)


def honest(sock, received):
    send(sock, {"ready": ["f"]})
    for msg in calls(sock, received):
        send(sock, {"ok": f"SECRET-{2 * msg['args'][0]}"})


def final(reply):
    read = read_judge(reply, None)
    return read if not hasattr(read, "passed") else verdict([read])


def test_honest_peer_passes_and_never_sees_the_expected_values():
    reply, received = run(honest)
    assert final(reply).status == "correct" and reply["calls"] == 2
    assert b"SECRET" not in received and b'"args":[2]' in received


def reply_with(answer):
    def peer(sock, received):
        send(sock, {"ready": ["f"]})
        for _ in calls(sock, received):
            send(sock, answer)
    return peer


HOSTILE_PEERS = {  # name -> (peer, words in the reason)
    "wrong value": (reply_with({"ok": "SECRET-0"}), "assertion failed"),
    "not JSON": (reply_with("{nope"), "not JSON"),
    "not an object": (reply_with("[1]"), "not an object"),
    "unknown tag": (reply_with({"ok": {"eq": "always"}}), "returned"),
    "bad marker": (reply_with({"bad": "returned a generator"}), "generator"),
    "no known key": (reply_with({"passed": 1, "total": 1}), "protocol"),
    "oversize answer": (reply_with({"ok": "x" * 10_000}), "over 4096 bytes"),
    "raised SystemExit": (reply_with({"raised": "SystemExit", "message": ""}), "CandidateError"),
    "silent": (lambda sock, received: [send(sock, {"ready": ["f"]}), sock.recv(100), threading.Event().wait(8)], "time limit"),
    "hangs up": (lambda sock, received: [send(sock, {"ready": ["f"]}), sock.shutdown(socket.SHUT_RDWR)], "ended"),
    "never ready": (lambda sock, received: sock.shutdown(socket.SHUT_RDWR), "ended"),
    "load failed": (lambda sock, received: send(sock, {"failed": "solution failed to load: SyntaxError"}), "SyntaxError"),
    "bad names": (lambda sock, received: send(sock, {"ready": ["f", "not an identifier"]}), "names"),
}


@pytest.mark.parametrize("name", sorted(HOSTILE_PEERS))
def test_hostile_peer_is_incorrect_with_a_reason(name):
    peer, words = HOSTILE_PEERS[name]
    reply, _ = run(peer)
    verdict_ = final(reply)
    assert verdict_.status == "incorrect" and words in verdict_.reason, (name, reply)


def test_a_fault_fails_the_run_even_when_the_tests_swallow_every_exception():
    tests = ["try:\n    f(1)\nexcept BaseException:\n    pass\nassert True"]
    reply, _ = run(reply_with("{broken"), job(tests=tests))
    assert final(reply).status == "incorrect" and reply["fatal"]


def test_an_exception_the_tests_expect_crosses_as_its_builtin_type():
    tests = ["try:\n    f(1)\n    assert False\nexcept ValueError as e:\n    assert str(e) == 'odd'"]
    reply, _ = run(reply_with({"raised": "ValueError", "message": "odd"}), job(tests=tests))
    assert final(reply).status == "correct"


def test_the_items_own_faults_are_errors():
    reply, _ = run(honest, job(setup="import no_such_module_here"))
    assert final(reply).status == "error" and "setup" in final(reply).reason
    reply, _ = run(honest, job(tests=["assert 1 + 1 == 2"]))
    assert final(reply).status == "error" and "never call" in final(reply).reason


def test_an_entry_point_the_solution_lacks_is_incorrect():
    reply, _ = run(honest, job(tests=["def check(c):\n    assert c(1) == 2"], entry_point="g"))
    assert final(reply).status == "incorrect" and "does not define" in final(reply).reason
