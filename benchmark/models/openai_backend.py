"""Any OpenAI-compatible chat server (`/chat/completions`), over aiohttp.

Requests run as coroutines on one event loop per backend, behind one semaphore of `max_concurrency` shared
by every caller in the process (all users in flight together), so the server gets as many requests as it
is allowed, never more. Plain aiohttp rather than the `openai` SDK: with hundreds of requests in flight the
SDK's request building and response models cost several times aiohttp's CPU per request (scripts/bench_scale.py
against benchmark/models/stand_in.py), and the client then limits a run, not the server. 429 / 5xx / timeouts /
malformed responses are retried with exponential backoff (one policy, in benchmark/models/layer.py); what
still fails is a request failure (`request_failed`), counted against the run's failure budget. A
server that no connection has reached yet stops the run after `backend.unreachable_after` refused
connections, instead of ending it with 100% counted failures. When the run stops (a signal, a spent budget)
the requests in flight are cancelled.
Log-prob judging reads the first generated token's `top_logprobs`; a server without them gives counted
failures.
"""

from __future__ import annotations

import asyncio
import atexit
import concurrent.futures
import json
import math
import os
import threading
import time
from collections.abc import Sequence
from typing import Literal

import orjson
from pydantic import Field

from benchmark.config import Section, operational
from benchmark.errors import ConfigError, ServerUnreachable
from benchmark.models.base import Chat, ChatModel, ChoiceResult, Generation, GenerationParams
from benchmark.models.concurrency import IN_FLIGHT
from benchmark.models.layer import CONTROL, RetryPolicy, Stopped, TransientError
from benchmark.models.registry import Backend
from benchmark.models.tokens import chat_dicts
from benchmark.records import Cost


def dumps(body: dict) -> bytes:
    """orjson (~15% less client CPU per request than json); json, escaped, for what orjson refuses (a lone
    surrogate in dataset text)."""
    try:
        return orjson.dumps(body)
    except orjson.JSONEncodeError:
        return json.dumps(body).encode()


def loads(body: bytes):
    """orjson; json for what only it reads (NaN / -Infinity from a server written with Python's json)."""
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError:
        return json.loads(body)


class RequestRejected(Exception):
    """The server refused the request (HTTP 4xx other than 429): retrying it unchanged cannot help."""


class OpenAIChat(ChatModel):
    meters_in_flight = True  # counted per HTTP request, not while waiting for the semaphore

    def __init__(self, model: str, cfg, retry: RetryPolicy):
        base_url = cfg.base_url or os.environ.get("OPENAI_BASE_URL")
        if not base_url:
            raise ConfigError("config backend.base_url: not set, and neither is $OPENAI_BASE_URL")
        self.name, self.cfg, self.retry, self.retries = model, cfg, retry, 0
        self.base_url, self._url = base_url, base_url.rstrip("/") + "/chat/completions"
        self._reached, self._connect_failures = False, 0  # touched on the request loop only
        self._headers = {"Authorization": f"Bearer {os.environ.get(cfg.api_key_env) or 'EMPTY'}",
                         "Content-Type": "application/json"}
        self._loop = asyncio.new_event_loop()
        threading.Thread(target=self._loop.run_forever, daemon=True, name="openai-requests").start()
        self._slots, self._session = asyncio.run_coroutine_threadsafe(self._open(), self._loop).result()
        self._waiting: set[concurrent.futures.Future] = set()  # calls in flight, from every thread
        atexit.register(self.close)
        CONTROL.watch(self)

    async def _open(self):
        import aiohttp

        self._aiohttp = aiohttp
        session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=self.cfg.timeout_s),
                                        connector=aiohttp.TCPConnector(limit=self.cfg.max_concurrency))
        return asyncio.Semaphore(self.cfg.max_concurrency), session

    def close(self) -> None:
        """Close the connections (at exit: the request loop is a daemon thread)."""
        if self._loop.is_running() and not self._session.closed:
            asyncio.run_coroutine_threadsafe(self._session.close(), self._loop).result(timeout=5)

    def _map(self, one, chats: Sequence[Chat]) -> list:
        """Run `one(chat)` for every chat on the request loop (from any thread) and wait for all."""
        async def gather() -> list:
            return list(await asyncio.gather(*(one(chat) for chat in chats)))
        future = asyncio.run_coroutine_threadsafe(gather(), self._loop)
        self._waiting.add(future)
        try:
            return future.result()
        except concurrent.futures.CancelledError:  # abandoned: the run is stopping
            raise Stopped(CONTROL.reason or "stopped") from None
        finally:
            self._waiting.discard(future)

    def abandon(self) -> None:
        """Cancel every call in flight (their waiting threads raise Stopped); called when the run stops."""
        for future in list(self._waiting):
            future.cancel()  # cancels the task on the request loop, and with it its HTTP requests

    def _count_retry(self, _error: Exception) -> None:
        self.retries += 1

    def _connection(self, ok: bool) -> None:
        """Until one request reaches the server, count refused connections and stop at the tolerance."""
        if ok or self._reached:
            self._reached = True
            return
        self._connect_failures += 1
        if self._connect_failures >= self.cfg.unreachable_after:  # every waiting request stops with this error
            raise ServerUnreachable(f"cannot connect to the model server at {self.base_url}: the first "
                                    f"{self.cfg.unreachable_after} connection attempts all failed (is it "
                                    f"running? backend.base_url / $OPENAI_BASE_URL)") from None

    async def _create(self, **kwargs) -> dict:
        """One request, with transient failures raised as TransientError for the retry policy."""
        try:
            async with self._slots:
                with IN_FLIGHT.track(1):
                    async with self._session.post(self._url, data=dumps({"model": self.name, **kwargs}),
                                                  headers=self._headers) as reply:
                        status, body = reply.status, await reply.read()
        except self._aiohttp.ClientConnectorError as error:  # refused / no route: the server was not reached
            self._connection(ok=False)
            raise TransientError(type(error).__name__) from error
        except (TimeoutError, self._aiohttp.ClientError) as error:
            raise TransientError(type(error).__name__) from error
        self._connection(ok=True)
        if status == 429 or status >= 500:
            raise TransientError(f"HTTP {status}")
        if status >= 400:
            raise RequestRejected(f"HTTP {status}: {body[:200].decode(errors='replace')}")
        try:
            response = loads(body)
        except ValueError as error:  # a body that is not valid JSON
            raise TransientError("malformed JSON") from error
        if not isinstance(response, dict) or not response.get("choices"):
            raise TransientError("response without choices")
        return response

    async def _request(self, **kwargs):
        start = time.perf_counter()
        try:
            response = await self.retry.acall(lambda: self._create(**kwargs), self._count_retry)
        except TransientError as error:
            return None, f"gave up after {self.retry.max_attempts} attempts: {error}", time.perf_counter() - start
        except RequestRejected as error:
            return None, f"{type(error).__name__}: {str(error)[:200]}", time.perf_counter() - start
        return response, None, time.perf_counter() - start

    @staticmethod
    def _cost(response: dict, seconds: float) -> Cost:
        usage = response.get("usage") or {}
        return Cost(1, usage.get("prompt_tokens") or 0, usage.get("completion_tokens") or 0, seconds)

    async def _choice_one(self, chat: Chat, choices: Sequence[str]) -> ChoiceResult:
        response, error, seconds = await self._request(messages=chat_dicts(chat), max_tokens=1, temperature=0.0,
                                                       logprobs=True, top_logprobs=self.cfg.top_logprobs)
        if error:
            return ChoiceResult(error=error, cost=Cost(1, 0, 0, seconds), request_failed=True)
        cost = self._cost(response, seconds)
        content = (response["choices"][0].get("logprobs") or {}).get("content")
        if not content:
            return ChoiceResult(error="server returned no logprobs", cost=cost)
        found = {c: -math.inf for c in choices}
        for candidate in content[0].get("top_logprobs") or []:
            token = candidate["token"].strip()
            if token in found:
                found[token] = max(found[token], candidate["logprob"])
        if all(v == -math.inf for v in found.values()):
            return ChoiceResult(error=f"none of {list(choices)} in the top {self.cfg.top_logprobs} tokens", cost=cost)
        return ChoiceResult(found, cost)

    def choice_logprobs(self, chats: Sequence[Chat], choices: Sequence[str]) -> list[ChoiceResult]:
        return self._map(lambda chat: self._choice_one(chat, choices), chats)

    async def _generate_one(self, chat: Chat, params: GenerationParams) -> Generation:
        kwargs = {"messages": chat_dicts(chat), "max_tokens": params.max_new_tokens,
                  "temperature": params.temperature, "seed": params.seed}
        if params.stop:
            kwargs["stop"] = list(params.stop)
        response, error, seconds = await self._request(**kwargs)
        if error:
            return Generation(error=error, cost=Cost(1, 0, 0, seconds), request_failed=True)
        return Generation((response["choices"][0].get("message") or {}).get("content") or "",
                          self._cost(response, seconds))

    def generate(self, chats: Sequence[Chat], params: GenerationParams) -> list[Generation]:
        return self._map(lambda chat: self._generate_one(chat, params), chats)


class OpenAIConfig(Section):
    kind: Literal["openai"]
    base_url: str | None = None        # default: $OPENAI_BASE_URL
    # the key is read from this variable, never from a config file (a key typed here is refused, unechoed)
    api_key_env: str = operational("OPENAI_API_KEY", pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")
    timeout_s: float = operational(60.0, gt=0)
    max_concurrency: int = operational(16, ge=1)
    max_attempts: int = operational(5, ge=1)
    backoff_s: float = operational(0.5, ge=0)
    top_logprobs: int = Field(20, ge=2, le=20)
    unreachable_after: int = operational(8, ge=1)  # connection failures before any success that stop the run


class OpenAIBackend(Backend):
    Config = OpenAIConfig

    def chat(self, model) -> OpenAIChat:
        return OpenAIChat(model.name, self.cfg, RetryPolicy(self.cfg.max_attempts, self.cfg.backoff_s))

    def identity(self) -> dict:
        return {"base_url": self.cfg.base_url}
