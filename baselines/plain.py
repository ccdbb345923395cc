"""Plain LLM judge: no information about the user, A vs B scored from next-token log-probabilities."""

from __future__ import annotations

from collections.abc import Sequence

from benchmark.config import Section
from benchmark.judging import CHOICES, judge_chat, judgment_from_choice
from benchmark.methods import Method, State, register_method
from benchmark.records import JudgeItem, Judgment


@register_method("plain")
class PlainJudge(Method):
    class Params(Section):
        max_response_chars: int = 4000

    def judge(self, items: Sequence[JudgeItem], state: State) -> list[Judgment]:
        chats = [judge_chat(item, None, self.params.max_response_chars) for item in items]
        results = self.models.chat().choice_logprobs(chats, CHOICES)
        return [judgment_from_choice(result) for result in results]
