"""The interface every model backend implements, and the results it returns."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, field

from benchmark.records import Cost, Message

Chat = Sequence[Message]


@dataclass
class ChoiceResult:
    """Log-probabilities of each choice as the next token; `error` says why there are none, and
    `request_failed` whether the request itself failed (see `ModelLayer`: the run's failure budget)."""

    logprobs: dict[str, float] = field(default_factory=dict)
    cost: Cost = field(default_factory=Cost)
    error: str | None = None
    request_failed: bool = False


@dataclass(frozen=True)
class GenerationParams:
    max_new_tokens: int = 256
    temperature: float = 0.0
    stop: tuple[str, ...] = ()
    seed: int = 0


@dataclass
class Generation:
    text: str = ""
    cost: Cost = field(default_factory=Cost)
    error: str | None = None
    request_failed: bool = False  # as in ChoiceResult


class ChatModel(ABC):
    """A chat model. Implementations batch internally; every call is bounded in tokens.

    `choice_logprobs` needs next-token log-probs: local backends always have them; through the openai
    backend a server without `top_logprobs` answers with counted failures (use a reasoning judge there).
    """

    name: str

    @abstractmethod
    def choice_logprobs(self, chats: Sequence[Chat], choices: Sequence[str]) -> list[ChoiceResult]:
        """For each chat, the next-token log-probability of each choice after the assistant prompt."""

    @abstractmethod
    def generate(self, chats: Sequence[Chat], params: GenerationParams) -> list[Generation]:
        """Greedy (temperature 0) or seeded sampled completions, at most `params.max_new_tokens` each."""
