"""The kimina-lean-server backend against a STAND-IN HTTP server on 127.0.0.1 (it checks no proof).

The stand-in answers ``POST /api/checks`` the way kimina-lean-server does (a list of ``{id, time, error,
response}``, the response being the REPL's JSON) from markers in the code; it tests the HTTP plumbing and
the verdict rules only.
"""

from __future__ import annotations

import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from verifiers.lean import LeanVerifier
from verifiers.lean.availability import require_toolchain

ITEM = {"formal_statement": "theorem t (n : Nat) : n + 0 = n := by sorry", "header": "import Mathlib"}


def proof(marker: str = "") -> str:
    return f"```lean\nimport Mathlib\ntheorem t (n : Nat) : n + 0 = n := by\n  omega -- {marker}\n```"


def standin_result(snippet: dict) -> dict:
    code = snippet["code"]
    if "STANDIN_TIMEOUT" in code:
        return {"id": snippet["id"], "time": 30.0, "error": "Lean REPL command timed out in 30 seconds"}
    if "STANDIN_HEADER_TIMEOUT" in code:
        return {"id": snippet["id"], "time": 30.0, "error": "Lean REPL header command timed out in 30 seconds"}
    messages = []
    if "STANDIN_ERROR" in code:
        messages.append({"severity": "error", "pos": {"line": 5, "column": 2}, "data": "stand-in error"})
    name = re.search(r"#print axioms (\S+)", code).group(1)
    messages.append({"severity": "info", "pos": {"line": 9, "column": 0}, "data": f"'{name}' depends on axioms: [propext]"})
    return {"id": snippet["id"], "time": 0.1, "error": None, "response": {"env": 0, "messages": messages}}


class StandinKimina(BaseHTTPRequestHandler):
    requests: list[dict] = []
    fail = False

    def do_GET(self):
        self._reply(200, {"status": "healthy"})

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        StandinKimina.requests.append({"path": self.path, "auth": self.headers.get("Authorization"), "body": body})
        if StandinKimina.fail:
            self._reply(500, {"detail": "stand-in failure"})
        else:
            self._reply(200, [standin_result(s) for s in body["snippets"]])

    def _reply(self, code: int, obj) -> None:
        data = json.dumps(obj).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


@pytest.fixture
def kimina_url():
    server = ThreadingHTTPServer(("127.0.0.1", 0), StandinKimina)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    StandinKimina.requests, StandinKimina.fail = [], False
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_a_batch_is_one_request_and_each_answer_its_verdict(kimina_url):
    verifier = LeanVerifier({"backend": "kimina", "kimina_url": kimina_url, "kimina_api_key": "k"})
    completions = [proof(), proof("STANDIN_ERROR"), proof("STANDIN_TIMEOUT"), proof("STANDIN_HEADER_TIMEOUT"),
                   "```lean\ntheorem t (n : Nat) : n + 0 = n := by sorry\n```"]
    verdicts = verifier.verify_batch([ITEM] * 5, completions)
    assert [v.status for v in verdicts] == ["correct", "incorrect", "incorrect", "timeout", "incorrect"], verdicts
    assert "line 5: stand-in error" in verdicts[1].reason and "did not finish" in verdicts[2].reason
    (request,) = StandinKimina.requests  # the guarded four in one POST; the sorry never left this process
    assert request["path"] == "/api/checks" and request["auth"] == "Bearer k" and len(request["body"]["snippets"]) == 4
    code = request["body"]["snippets"][0]["code"]
    assert code.startswith("import Mathlib\n") and code.count("import Mathlib") == 1
    assert code.index("axiom urlvr_ref_") < code.index("theorem t (n") < code.index("#print axioms urlvr_check_")


def test_a_failing_server_gives_error_for_every_item(kimina_url):
    StandinKimina.fail = True
    verifier = LeanVerifier({"backend": "kimina", "kimina_url": kimina_url})
    verdicts = verifier.verify_batch([ITEM] * 2, [proof(), proof()])
    assert [v.status for v in verdicts] == ["error", "error"] and "HTTP 500" in verdicts[0].reason


def test_single_verify_and_health_check(kimina_url):
    verifier = LeanVerifier({"backend": "kimina", "kimina_url": kimina_url})
    assert verifier.verify(ITEM, proof()).status == "correct"
    require_toolchain({"backend": "kimina", "kimina_url": kimina_url})  # /health answers: no exception
