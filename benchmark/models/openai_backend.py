"""Any OpenAI-compatible chat server, through the `openai` client.

Requests run as coroutines on one event loop per backend, behind one semaphore of `max_concurrency` shared
by every caller in the process (all users in flight together), so the server gets as many requests as it
is allowed, never more (asyncio, not a thread per request: hundreds in flight cost little CPU); 429 / 5xx / timeouts / malformed responses are retried with
exponential backoff (the client's own retries are off, so the policy lives in one place). Log-prob judging
reads the first generated token's `top_logprobs`; a server without them gives counted failures.
"""

from __future__ import annotations

import asyncio
import atexit
import math
import os
import threading
import time
from collections.abc import Sequence

from benchmark.errors import ConfigError
from benchmark.models.base import Chat, ChatModel, ChoiceResult, Generation, GenerationParams
from benchmark.models.concurrency import IN_FLIGHT
from benchmark.models.layer import RetryPolicy, TransientError
from benchmark.models.tokens import chat_dicts
from benchmark.records import Cost


class OpenAIChat(ChatModel):
    meters_in_flight = True  # counted per HTTP request, not while waiting for the semaphore

    def __init__(self, model: str, cfg, retry: RetryPolicy):
        import httpx
        import openai

        base_url = cfg.base_url or os.environ.get("OPENAI_BASE_URL")
        if not base_url:
            raise ConfigError("config backend.base_url: not set, and neither is $OPENAI_BASE_URL")
        self.name, self.cfg, self.retry, self.retries = model, cfg, retry, 0
        self._openai = openai
        limits = httpx.Limits(max_connections=cfg.max_concurrency, max_keepalive_connections=cfg.max_concurrency)
        # aiohttp transport (openai[aiohttp]): httpx's own async pool spends ~30 ms of CPU per request with
        # hundreds in flight, aiohttp ~1 ms (measured against benchmark/models/stand_in.py)
        self.client = openai.AsyncOpenAI(
            base_url=base_url, api_key=os.environ.get(cfg.api_key_env) or "EMPTY", timeout=cfg.timeout_s,
            max_retries=0, http_client=openai.DefaultAioHttpClient(limits=limits, timeout=cfg.timeout_s))
        self._loop = asyncio.new_event_loop()
        threading.Thread(target=self._loop.run_forever, daemon=True, name="openai-requests").start()
        self._slots = asyncio.run_coroutine_threadsafe(self._semaphore(cfg.max_concurrency), self._loop).result()
        atexit.register(self.close)

    def close(self) -> None:
        """Close the connections (at exit: the request loop is a daemon thread)."""
        if self._loop.is_running():
            asyncio.run_coroutine_threadsafe(self.client.close(), self._loop).result(timeout=5)

    @staticmethod
    async def _semaphore(n: int) -> asyncio.Semaphore:
        return asyncio.Semaphore(n)

    def _map(self, one, chats: Sequence[Chat]) -> list:
        """Run `one(chat)` for every chat on the request loop (from any thread) and wait for all."""
        async def gather() -> list:
            return list(await asyncio.gather(*(one(chat) for chat in chats)))
        return asyncio.run_coroutine_threadsafe(gather(), self._loop).result()

    def _count_retry(self, _error: Exception) -> None:
        self.retries += 1

    async def _create(self, **kwargs):
        """One request, with transient failures raised as TransientError for the retry policy."""
        errors = self._openai
        try:
            async with self._slots:
                with IN_FLIGHT.track(1):
                    response = await self.client.chat.completions.create(model=self.name, **kwargs)
            if not response.choices:
                raise TransientError("response without choices")
            return response
        except errors.APIStatusError as error:
            if error.status_code == 429 or error.status_code >= 500:
                raise TransientError(f"HTTP {error.status_code}") from error
            raise
        except (errors.APITimeoutError, errors.APIConnectionError, errors.APIResponseValidationError,
                ValueError) as error:  # ValueError: a body that is not valid JSON
            raise TransientError(type(error).__name__) from error

    async def _request(self, **kwargs):
        start = time.perf_counter()
        try:
            response = await self.retry.acall(lambda: self._create(**kwargs), self._count_retry)
        except TransientError as error:
            return None, f"gave up after {self.retry.max_attempts} attempts: {error}", time.perf_counter() - start
        except self._openai.APIError as error:
            return None, f"{type(error).__name__}: {str(error)[:200]}", time.perf_counter() - start
        return response, None, time.perf_counter() - start

    @staticmethod
    def _cost(response, seconds: float) -> Cost:
        usage = getattr(response, "usage", None)
        return Cost(1, getattr(usage, "prompt_tokens", 0) or 0, getattr(usage, "completion_tokens", 0) or 0, seconds)

    async def _choice_one(self, chat: Chat, choices: Sequence[str]) -> ChoiceResult:
        response, error, seconds = await self._request(messages=chat_dicts(chat), max_tokens=1, temperature=0.0,
                                                 logprobs=True, top_logprobs=self.cfg.top_logprobs)
        if error:
            return ChoiceResult(error=error, cost=Cost(1, 0, 0, seconds))
        cost = self._cost(response, seconds)
        content = getattr(response.choices[0].logprobs, "content", None)
        if not content:
            return ChoiceResult(error="server returned no logprobs", cost=cost)
        found = {c: -math.inf for c in choices}
        for candidate in content[0].top_logprobs:
            token = candidate.token.strip()
            if token in found:
                found[token] = max(found[token], candidate.logprob)
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
            return Generation(error=error, cost=Cost(1, 0, 0, seconds))
        return Generation(response.choices[0].message.content or "", self._cost(response, seconds))

    def generate(self, chats: Sequence[Chat], params: GenerationParams) -> list[Generation]:
        return self._map(lambda chat: self._generate_one(chat, params), chats)
