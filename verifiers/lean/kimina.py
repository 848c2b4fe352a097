"""The ``kimina`` backend: proofs checked by a kimina-lean-server endpoint over HTTP (stdlib only).

Each guarded proof travels as one file (header, reference axiom, proof, check; see ``scoring.one_file``) in
one ``POST /api/checks`` per batch; the server keeps its own REPLs per header. The verdict rules are the local
backend's: an unreachable or failing server, or a header that times out, is ``error``/``timeout``; a proof that
times out is ``incorrect``.
"""

from __future__ import annotations

import json
import math
import secrets
import urllib.error
import urllib.request
from collections.abc import Sequence
from typing import Any

from verifiers.base import Verdict
from verifiers.lean.config import LeanConfig
from verifiers.lean.scoring import Prepared, build_commands, judge_one_file, one_file

MAX_REPLY_BYTES = 64 * 2**20


class KiminaBackend:
    """Sends batches of proofs to ``{kimina_url}/api/checks`` and judges each answer."""

    def __init__(self, config: LeanConfig):
        self.config = config
        self.url = str(config.kimina_url).rstrip("/") + "/api/checks"
        self.requests = 0

    def check(self, item: Prepared) -> Verdict:
        return self.check_many([item])[0]

    def check_many(self, items: Sequence[Prepared]) -> list[Verdict]:
        if not items:
            return []
        nonces = [secrets.token_hex(8) for _ in items]
        commands = [build_commands(p.statement, p.proof, n) for p, n in zip(items, nonces)]
        snippets = [{"id": str(k), "code": one_file(p.header, c)} for k, (p, c) in enumerate(zip(items, commands))]
        body = {"snippets": snippets, "timeout": math.ceil(self.config.proof_timeout), "debug": False, "reuse": True}
        try:
            results = self._post(body)
        except _ServerFault as fault:
            return [Verdict.error(f"kimina-lean-server at {self.config.kimina_url}: {fault}"[:500]) for _ in items]
        by_id = {str(r.get("id")): r for r in results if isinstance(r, dict)}
        return [self._verdict(by_id.get(str(k)), c.check_name, p) for k, (p, c) in enumerate(zip(items, commands))]

    def _post(self, body: dict[str, Any]) -> list[Any]:
        headers = {"Content-Type": "application/json"}
        if self.config.kimina_api_key:
            headers["Authorization"] = f"Bearer {self.config.kimina_api_key}"
        request = urllib.request.Request(self.url, data=json.dumps(body).encode(), headers=headers, method="POST")
        wait = self.config.header_timeout + self.config.proof_timeout * max(1, len(body["snippets"]))
        self.requests += 1
        try:
            with urllib.request.urlopen(request, timeout=wait) as reply:
                raw = reply.read(MAX_REPLY_BYTES + 1)
        except urllib.error.HTTPError as exc:
            raise _ServerFault(f"HTTP {exc.code} {exc.reason}") from None
        except (OSError, ValueError) as exc:
            raise _ServerFault(f"no answer ({exc})") from None
        if len(raw) > MAX_REPLY_BYTES:
            raise _ServerFault(f"the answer is over {MAX_REPLY_BYTES >> 20} MB")
        try:
            results = json.loads(raw)
        except ValueError:
            raise _ServerFault(f"the answer is not JSON: {raw[:120]!r}") from None
        if isinstance(results, dict):
            results = results.get("results", [])
        if not isinstance(results, list):
            raise _ServerFault("the answer is not a list of results")
        return results

    def _verdict(self, result: dict[str, Any] | None, check_name: str, item: Prepared) -> Verdict:
        if result is None:
            return Verdict.error("kimina-lean-server returned no result for this proof")
        error = result.get("error")
        if error:
            text = " ".join(str(error).split())[:300]
            if "header" in text and "timed out" in text:
                return Verdict.timeout(f"kimina-lean-server: {text}")
            if "timed out" in text:
                return Verdict.incorrect(f"Lean did not finish checking the proof ({text})")
            return Verdict.error(f"kimina-lean-server: {text}")
        response = result.get("response")
        if not isinstance(response, dict):
            return Verdict.error("kimina-lean-server returned a result without a response")
        verdict = judge_one_file(response, check_name, item.allowed_axioms)
        return Verdict.correct(verdict.reason) if verdict.correct else Verdict.incorrect(verdict.reason)

    def stats(self) -> dict[str, float]:
        return {"kimina_requests": float(self.requests)}

    def close(self) -> None:
        pass


class _ServerFault(Exception):
    """The server could not be asked, or its answer could not be read."""
