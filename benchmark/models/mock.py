"""Deterministic offline models for unit tests of plumbing (never for reported numbers)."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Sequence
from typing import Literal

from benchmark.config import Section, operational
from benchmark.models.base import Chat, ChatModel, ChoiceResult, Generation, GenerationParams
from benchmark.models.registry import Backend
from benchmark.models.reward_models import Score
from benchmark.records import Cost


def _unit(text: str) -> float:
    return int(hashlib.sha256(text.encode()).hexdigest()[:8], 16) / 0xFFFFFFFF


class MockChat(ChatModel):
    """Scores choices with `score` (chat, choice) -> log-prob, by default a hash of the prompt.

    Records every chat it was shown in `seen`, so tests can check what a method revealed to the model.
    """

    def __init__(self, name: str = "mock", score: Callable[[Chat, str], float] | None = None,
                 reply: Callable[[Chat], str] | None = None, latency_s: float = 0.0):
        self.name, self.latency_s = name, latency_s
        self.score = score or (lambda chat, choice: -5 * _unit(repr(chat) + choice))
        self.reply = reply or (lambda chat: "A")
        self.seen: list[Chat] = []

    def choice_logprobs(self, chats: Sequence[Chat], choices: Sequence[str]) -> list[ChoiceResult]:
        self.seen.extend(chats)
        time.sleep(self.latency_s * len(chats))
        return [ChoiceResult({c: self.score(chat, c) for c in choices}, Cost(1, len(repr(chat)), 0, 0.0))
                for chat in chats]

    def generate(self, chats: Sequence[Chat], params: GenerationParams) -> list[Generation]:
        self.seen.extend(chats)
        return [Generation(self.reply(chat)[: 4 * params.max_new_tokens], Cost(1, len(repr(chat)), 1, 0.0))
                for chat in chats]


class MockReward:
    """Rewards a conversation with `reward` (conversation) -> float, by default a hash of it.

    Records every conversation it scored in `seen`."""

    def __init__(self, name: str = "mock", reward: Callable[[Chat], float] | None = None):
        self.name = name
        self.reward = reward or (lambda chat: _unit(repr(chat)))
        self.seen: list[Chat] = []

    def score(self, conversations: Sequence[Chat]) -> list[Score]:
        self.seen.extend(conversations)
        return [Score(self.reward(c), Cost(1, len(repr(c)), 0, 0.0)) for c in conversations]


class MockConfig(Section):
    kind: Literal["mock"]
    latency_s: float = operational(0.0, ge=0)


class MockBackend(Backend):
    Config = MockConfig

    def chat(self, model) -> MockChat:
        return MockChat(model.name, latency_s=self.cfg.latency_s)

    def reward(self, model) -> MockReward:
        return MockReward(model.name)
