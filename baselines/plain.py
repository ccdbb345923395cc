"""Plain LLM judge: no information about the user. `mode` picks how the verdict is read (see judging.py)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

from pydantic import Field

from benchmark.config import Section
from benchmark.judging import judge_by_logprobs, judge_by_reasoning, judge_chat
from benchmark.methods import Method, State, register_method
from benchmark.records import JudgeItem, Judgment


@register_method("plain")
class PlainJudge(Method):
    class Params(Section):
        mode: Literal["logprob", "reasoning"] = "logprob"
        max_response_chars: int = Field(4000, ge=100)
        max_reasoning_tokens: int = Field(256, ge=8)
        reasoning_retries: int = Field(1, ge=0)

    def judge(self, items: Sequence[JudgeItem], state: State) -> list[Judgment]:
        p = self.params
        chats = [judge_chat(item, None, p.max_response_chars, p.mode) for item in items]
        if p.mode == "logprob":
            return judge_by_logprobs(self.models.chat(), chats)
        return judge_by_reasoning(self.models.chat(), chats, p.max_reasoning_tokens, p.reasoning_retries)
