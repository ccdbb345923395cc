"""Any OpenAI-compatible chat server, through the `openai` client.

Requests run with bounded concurrency; 429 / 5xx / timeouts / malformed responses are retried with
exponential backoff (the client's own retries are off, so the policy lives in one place). A server that no
connection has reached yet stops the run after `backend.unreachable_after` connection failures in a row,
instead of ending it with 100% counted failures. Log-prob judging
reads the first generated token's `top_logprobs`; a server without them gives counted failures.
"""

from __future__ import annotations

import math
import os
import threading
import time
from collections.abc import Sequence
from typing import Literal

from pydantic import Field

from benchmark.config import Section
from benchmark.errors import ConfigError, ServerUnreachable
from benchmark.models.base import Chat, ChatModel, ChoiceResult, Generation, GenerationParams
from benchmark.models.layer import RetryPolicy, TransientError, run_concurrently
from benchmark.models.registry import Backend, register_backend
from benchmark.models.tokens import chat_dicts
from benchmark.records import Cost


class OpenAIChat(ChatModel):
    def __init__(self, model: str, cfg, retry: RetryPolicy):
        import openai

        base_url = cfg.base_url or os.environ.get("OPENAI_BASE_URL")
        if not base_url:
            raise ConfigError("config backend.base_url: not set, and neither is $OPENAI_BASE_URL")
        self.name, self.cfg, self.retry, self.retries = model, cfg, retry, 0
        self.base_url = base_url
        self._reached, self._connect_failures, self._lock = False, 0, threading.Lock()
        self._openai = openai
        self.client = openai.OpenAI(base_url=base_url, api_key=os.environ.get(cfg.api_key_env) or "EMPTY",
                                    timeout=cfg.timeout_s, max_retries=0)

    def _count_retry(self, _error: Exception) -> None:
        with self._lock:
            self.retries += 1

    def _connection(self, ok: bool) -> None:
        """Until one request reaches the server, count connection failures and stop at the tolerance."""
        with self._lock:
            if ok or self._reached:
                self._reached = True
                return
            self._connect_failures += 1
            if self._connect_failures >= self.cfg.unreachable_after:  # every thread stops with the same error
                raise ServerUnreachable(f"cannot connect to the model server at {self.base_url}: the first "
                                        f"{self.cfg.unreachable_after} connection attempts all failed (is it "
                                        f"running? backend.base_url / $OPENAI_BASE_URL)") from None

    def _create(self, **kwargs):
        """One request, with transient failures raised as TransientError for the retry policy."""
        errors = self._openai
        try:
            try:
                response = self.client.chat.completions.create(model=self.name, **kwargs)
            except errors.APIConnectionError as error:
                if not isinstance(error, errors.APITimeoutError):  # a timeout means it was reached
                    self._connection(ok=False)
                raise
            self._connection(ok=True)
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

    def _request(self, **kwargs):
        start = time.perf_counter()
        try:
            response = self.retry.call(lambda: self._create(**kwargs), self._count_retry)
        except TransientError as error:
            return None, f"gave up after {self.retry.max_attempts} attempts: {error}", time.perf_counter() - start
        except self._openai.APIError as error:
            return None, f"{type(error).__name__}: {str(error)[:200]}", time.perf_counter() - start
        return response, None, time.perf_counter() - start

    @staticmethod
    def _cost(response, seconds: float) -> Cost:
        usage = getattr(response, "usage", None)
        return Cost(1, getattr(usage, "prompt_tokens", 0) or 0, getattr(usage, "completion_tokens", 0) or 0, seconds)

    def _choice_one(self, chat: Chat, choices: Sequence[str]) -> ChoiceResult:
        response, error, seconds = self._request(messages=chat_dicts(chat), max_tokens=1, temperature=0.0,
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
        return run_concurrently(lambda chat: self._choice_one(chat, choices), list(chats), self.cfg.max_concurrency)

    def _generate_one(self, chat: Chat, params: GenerationParams) -> Generation:
        kwargs = {"messages": chat_dicts(chat), "max_tokens": params.max_new_tokens,
                  "temperature": params.temperature, "seed": params.seed}
        if params.stop:
            kwargs["stop"] = list(params.stop)
        response, error, seconds = self._request(**kwargs)
        if error:
            return Generation(error=error, cost=Cost(1, 0, 0, seconds))
        return Generation(response.choices[0].message.content or "", self._cost(response, seconds))

    def generate(self, chats: Sequence[Chat], params: GenerationParams) -> list[Generation]:
        return run_concurrently(lambda chat: self._generate_one(chat, params), list(chats), self.cfg.max_concurrency)


class OpenAIConfig(Section):
    kind: Literal["openai"]
    base_url: str | None = None        # default: $OPENAI_BASE_URL
    # the key is read from this variable, never from a config file (a key typed here is refused, unechoed)
    api_key_env: str = Field("OPENAI_API_KEY", pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")
    timeout_s: float = Field(60.0, gt=0)
    max_concurrency: int = Field(16, ge=1)
    max_attempts: int = Field(5, ge=1)
    backoff_s: float = Field(0.5, ge=0)
    top_logprobs: int = Field(20, ge=2, le=20)
    unreachable_after: int = Field(8, ge=1)  # connection failures before any success that stop the run


@register_backend("openai")
class OpenAIBackend(Backend):
    Config = OpenAIConfig

    def chat(self, model) -> OpenAIChat:
        return OpenAIChat(model.name, self.cfg, RetryPolicy(self.cfg.max_attempts, self.cfg.backoff_s))

    def identity(self) -> dict:
        return {"base_url": self.cfg.base_url}
