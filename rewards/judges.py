"""Judges for self-verification: anything that turns judge prompts into replies, behind one small interface.

A judge is called with a list of prompts (plain strings, or chat messages when its ``chat`` is true) and
returns one reply per prompt; a reply is None when the judge could not answer (an endpoint that failed after
its retries), which the reward masks rather than scoring 0. The trainer builds the policy and frozen judges
from its own generation code (:func:`trainer.generation.policy_judge`); :class:`EndpointJudge` talks to any
OpenAI-compatible server over plain HTTP (tested against ``transformers serve``, tests/rewards/test_endpoint_server.py).
"""

from __future__ import annotations

import http.client
import json
import os
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Protocol, Union, runtime_checkable

Prompt = Union[str, list[dict[str, str]]]
"""One judge prompt: a plain string, or chat messages ``[{"role": "user", "content": ...}]``."""

MAX_REPLY_BYTES = 4 * 1024 * 1024
"""An endpoint reply larger than this is refused unread (a judge reply is a few hundred tokens)."""


@runtime_checkable
class Judge(Protocol):
    """Turns judge prompts into replies, one per prompt (None where it could not answer)."""

    chat: bool
    """True when the judge wants chat messages; False for plain strings."""

    def __call__(self, prompts: list[Prompt]) -> list[str | None]: ...


class CallableJudge:
    """A judge from a ``generate(prompts) -> replies`` callable (the trainer's policy or frozen model, a test script)."""

    def __init__(self, generate: Callable[[list[Prompt]], Sequence[str | None]], chat: bool = False):
        self.generate = generate
        self.chat = chat

    def __call__(self, prompts: list[Prompt]) -> list[str | None]:
        replies = list(self.generate(prompts))
        if len(replies) != len(prompts):
            raise RuntimeError(f"judge returned {len(replies)} replies for {len(prompts)} prompts")
        return replies


def as_judge(judge: Any) -> Judge:
    """``judge`` itself when it has ``chat``; a plain callable becomes a :class:`CallableJudge` (plain strings)."""
    return judge if hasattr(judge, "chat") else CallableJudge(judge)


class EndpointError(RuntimeError):
    """The endpoint could not be reached, or answered with something other than a completion; says which and why."""


class EndpointJudge:
    """An OpenAI-compatible ``/v1/chat/completions`` (``api="chat"``) or ``/v1/completions`` judge.

    One request per prompt, ``concurrency`` at a time. Connection failures, timeouts, HTTP 429 and 5xx are
    retried ``retries`` times with exponential backoff from ``backoff_s``; after that (or at once for a
    malformed reply or another HTTP error) that prompt's reply is None, and ``last_error`` says why.
    """

    def __init__(self, url: str, model: str, api: str = "chat", timeout_s: float = 30.0, retries: int = 2,
                 backoff_s: float = 0.5, concurrency: int = 8, max_tokens: int = 48, temperature: float = 0.0,
                 api_key_env: str | None = None):
        if api not in ("chat", "completions"):
            raise ValueError(f"endpoint api {api!r}; valid choices: chat, completions")
        self.base = base_url(url)
        self.model, self.api, self.chat = model, api, api == "chat"
        self.timeout_s, self.retries, self.backoff_s = timeout_s, retries, backoff_s
        self.concurrency, self.max_tokens, self.temperature = concurrency, max_tokens, temperature
        self.api_key_env = api_key_env
        self.last_error: str | None = None
        self.failures = 0

    def __call__(self, prompts: list[Prompt]) -> list[str | None]:
        if not prompts:
            return []
        with ThreadPoolExecutor(max_workers=min(self.concurrency, len(prompts))) as pool:
            return list(pool.map(self._reply_or_none, prompts))

    def probe(self) -> None:
        """Raise :class:`EndpointError` (one line) unless the server answers HTTP at all (``GET /models``)."""
        request = urllib.request.Request(self.base + "/models", headers=self._headers())
        try:
            with urllib.request.urlopen(request, timeout=min(self.timeout_s, 10.0)) as reply:
                reply.read(1024)
        except urllib.error.HTTPError:
            return  # it answered: reachable, even if it has no /models route
        except (urllib.error.URLError, OSError, http.client.HTTPException) as exc:
            raise EndpointError(f"judge endpoint {self.base} is unreachable ({_why(exc)}); start the server or fix "
                                "reward.endpoint.url") from None

    def check(self) -> None:
        """:meth:`probe`, then one 1-token request to the named model through ``api``; raise :class:`EndpointError`
        (one line, with a hint) when it fails, so a wrong model name or API fails at start-up, not as masked rewards."""
        self.probe()
        path, body = self._request_body("1 + 1 =")
        try:
            self._send(path, {**body, "max_tokens": 1})
        except EndpointError as exc:
            raise EndpointError(f"{exc}{_hint(self.api, str(exc))}") from None

    def _reply_or_none(self, prompt: Prompt) -> str | None:
        try:
            return self.reply(prompt)
        except EndpointError as exc:
            self.last_error, self.failures = str(exc), self.failures + 1
            return None

    def reply(self, prompt: Prompt) -> str:
        """The judge's reply to one prompt; raises :class:`EndpointError` once retries are spent."""
        return self._send(*self._request_body(prompt))

    def _send(self, path: str, body: dict[str, Any]) -> str:
        data = json.dumps(body).encode()
        for attempt in range(self.retries + 1):
            try:
                return _completion_text(self._post(path, data), self.api)
            except _Transient as exc:
                if attempt == self.retries:
                    raise EndpointError(f"judge endpoint {self.base}{path} failed {attempt + 1} time(s): {exc}") from None
                time.sleep(self.backoff_s * 2**attempt)
        raise AssertionError("unreachable")

    def _request_body(self, prompt: Prompt) -> tuple[str, dict[str, Any]]:
        common = {"model": self.model, "max_tokens": self.max_tokens, "temperature": self.temperature, "n": 1}
        if self.chat:
            messages = [{"role": "user", "content": prompt}] if isinstance(prompt, str) else list(prompt)
            return "/chat/completions", {**common, "messages": messages}
        text = prompt if isinstance(prompt, str) else "\n".join(str(m.get("content", "")) for m in prompt) + "\n"
        return "/completions", {**common, "prompt": text}

    def _post(self, path: str, data: bytes) -> Any:
        request = urllib.request.Request(self.base + path, data=data, method="POST",
                                         headers={"Content-Type": "application/json", **self._headers()})
        try:
            with urllib.request.urlopen(request, timeout=self.timeout_s) as reply:
                raw = reply.read(MAX_REPLY_BYTES + 1)
        except urllib.error.HTTPError as exc:
            if exc.code == 429 or exc.code >= 500:
                raise _Transient(f"HTTP {exc.code}: {_body_of(exc)}") from None
            raise EndpointError(f"judge endpoint {self.base}{path} answered HTTP {exc.code}: {_body_of(exc)}") from None
        except (urllib.error.URLError, OSError, http.client.HTTPException) as exc:  # refused, reset, timeout, torn
            raise _Transient(_why(exc)) from None
        if len(raw) > MAX_REPLY_BYTES:
            raise EndpointError(f"judge endpoint {self.base}{path} replied with over {MAX_REPLY_BYTES} bytes")
        try:
            return json.loads(raw)
        except (ValueError, RecursionError):
            raise EndpointError(f"judge endpoint {self.base}{path} replied with invalid JSON: {raw[:80]!r}") from None

    def _headers(self) -> dict[str, str]:
        key = os.environ.get(self.api_key_env, "") if self.api_key_env else ""
        return {"Authorization": f"Bearer {key}"} if key else {}


class _Transient(Exception):
    """A failure worth retrying: refused, reset, timed out, HTTP 429 or 5xx."""


def base_url(url: str) -> str:
    """The API base (``.../v1``): a bare ``http://host:port`` gets ``/v1``; a full ``.../completions`` URL is cut back."""
    parts = urllib.parse.urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError(f"endpoint url {url!r} must be http(s)://host[:port][/v1]")
    path = parts.path.rstrip("/")
    for suffix in ("/chat/completions", "/completions"):
        if path.endswith(suffix):
            path = path[: -len(suffix)]
            break
    return urllib.parse.urlunsplit((parts.scheme, parts.netloc, path or "/v1", "", ""))


def _completion_text(payload: Any, api: str) -> str:
    """The text of the first choice in an OpenAI-shaped reply; EndpointError when it has none."""
    try:
        choice = payload["choices"][0]
        text = choice["message"]["content"] if api == "chat" else choice["text"]
    except (KeyError, IndexError, TypeError):
        raise EndpointError(f"judge endpoint reply has no choices[0] {'message.content' if api == 'chat' else 'text'}: "
                            f"{str(payload)[:80]}") from None
    if text is None:
        return ""
    if not isinstance(text, str):
        raise EndpointError(f"judge endpoint reply text is a {type(text).__name__}, not a string")
    return text


def _hint(api: str, error: str) -> str:
    """A likely cause of a failed start-up request (``transformers serve`` answers a bare HTTP 500 here)."""
    if api == "chat" and "HTTP 5" in error:
        return "; a model without a chat template cannot answer api=chat: try reward.endpoint.api=completions"
    return ""


def _why(exc: BaseException) -> str:
    reason = getattr(exc, "reason", exc)
    return f"{type(reason).__name__}: {reason}" if str(reason) else type(reason).__name__


def _body_of(exc: urllib.error.HTTPError) -> str:
    try:
        return exc.read(200).decode("utf-8", "replace").replace("\n", " ")
    except OSError:
        return exc.reason or ""

