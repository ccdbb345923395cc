"""The judge prompt shared by every LLM-judge method, and the mapping from model output to Judgment.

Layout of the prompt (one user message after a short system message):
    [About this user]      optional: persona, profile or past choices, supplied by the method
    Conversation           the context, one `[role]: text` block per message
    Response A / B         the two candidates in display order
    Question               which response would this user prefer? answer with one letter
Two judge modes read the verdict:
- `logprob`: the next-token log-probabilities of "A" and "B" (no free-text parsing);
- `reasoning`: a bounded generation that reasons, then ends with `Answer: A` or `Answer: B`. When no
  answer can be read, up to `retries` follow-up turns (a changed request, never the same one again) ask
  for the letter alone; still nothing is a counted `fail`, with the raw text kept.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from typing import Literal

from pydantic import Field

from benchmark.config import Section
from benchmark.models.base import ChatModel, ChoiceResult, GenerationParams
from benchmark.records import JudgeItem, Judgment, Message

CHOICES = ("A", "B")
QUESTIONS = {
    "logprob": "Which response would this user prefer? Answer with a single letter: A or B.",
    "reasoning": "Which response would this user prefer? Think briefly about what this user values and how each "
                 "response fits, then finish with a final line of the form 'Answer: A' or 'Answer: B'.",
}
FOLLOW_UP = "Give only your final answer: the single letter A or B."
ANSWER = re.compile(r"answer\s*(?:is)?\s*[:\-]?\s*[*\s]*(?:response\s*)?\(?\s*([AB])\b", re.IGNORECASE)
BARE = re.compile(r"^\W*(?:response\s*)?([AB])\W*$", re.IGNORECASE)
MENTION = re.compile(r"\bresponse\s*\(?([AB])\b", re.IGNORECASE)
SYSTEM = ("You predict which of two assistant responses a particular user preferred. "
          "Judge by what this user values, not by your own taste.")


def clip(text: str, max_chars: int) -> str:
    """Bound a response's length, keeping its start and end."""
    if len(text) <= max_chars:
        return text
    half = max_chars // 2
    return f"{text[:half]}\n[... {len(text) - 2 * half} characters cut ...]\n{text[-half:]}"


def render_conversation(context: Sequence[Message], max_chars: int) -> str:
    return "\n\n".join(f"[{m.role}]: {clip(m.content, max_chars)}" for m in context)


def judge_chat(item: JudgeItem, about_user: str | None = None, max_chars: int = 4000,
               mode: str = "logprob") -> list[Message]:
    sections = []
    if about_user:
        sections.append(f"## About this user\n{about_user}")
    sections += [
        f"## Conversation\n{render_conversation(item.context, max_chars)}",
        f"## Response A\n{clip(item.first, max_chars)}",
        f"## Response B\n{clip(item.second, max_chars)}",
        f"## Question\n{QUESTIONS[mode]}",
    ]
    return [Message("system", SYSTEM), Message("user", "\n\n".join(sections))]


def judgment_from_choice(result: ChoiceResult) -> Judgment:
    """A beats B when its log-probability is higher; equal is a tie; no scores is a fail."""
    if result.error is not None:
        return Judgment("fail", None, result.error, result.cost)
    a, b = (result.logprobs.get(c, -math.inf) for c in CHOICES)
    if not all(math.isfinite(x) for x in (a, b)):
        return Judgment("fail", None, f"non-finite log-probs A={a} B={b}", result.cost)
    p_first = 1.0 / (1.0 + math.exp(b - a))
    preferred = "first" if a > b else "second" if b > a else "tie"
    return Judgment(preferred, p_first, f"logp A={a:.4f} B={b:.4f}", result.cost)


def parse_answer(text: str) -> str | None:
    """'first' / 'second' from the last `Answer: X`, else a bare letter, else the one response the text
    names (`I would pick Response B`); None when there is none or the text names both."""
    found = ANSWER.findall(text) or BARE.findall(text.strip())
    if not found:
        named = {m.upper() for m in MENTION.findall(text)}
        found = list(named) if len(named) == 1 else []
    if not found:
        return None
    return "first" if found[-1].upper() == "A" else "second"


def judge_by_logprobs(model: ChatModel, chats: Sequence[list[Message]]) -> list[Judgment]:
    return [judgment_from_choice(result) for result in model.choice_logprobs(chats, CHOICES)]


def judge_by_reasoning(model: ChatModel, chats: Sequence[list[Message]], max_new_tokens: int = 256,
                       retries: int = 1) -> list[Judgment]:
    params = GenerationParams(max_new_tokens=max_new_tokens)
    outputs = model.generate(chats, params)
    judgments = []
    for chat, out in zip(chats, outputs):
        cost, raw = out.cost, out.text if out.error is None else f"[error] {out.error}"
        preferred = parse_answer(out.text) if out.error is None else None
        attempt = 0
        while preferred is None and out.error is None and attempt < retries:
            attempt += 1
            follow = [*chat, Message("assistant", raw), Message("user", FOLLOW_UP)]
            (extra,) = model.generate([follow], GenerationParams(max_new_tokens=8))
            cost = cost + extra.cost
            raw += f"\n[follow-up {attempt}] {extra.text if extra.error is None else extra.error}"
            preferred = parse_answer(extra.text) if extra.error is None else None
        judgments.append(Judgment(preferred or "fail", None, raw, cost))
    return judgments


class JudgeParams(Section):
    """How an LLM judge asks and reads its verdict; every LLM-judge method's params extend these."""

    mode: Literal["logprob", "reasoning"] = "logprob"
    max_response_chars: int = Field(4000, ge=100)
    max_reasoning_tokens: int = Field(256, ge=8)
    reasoning_retries: int = Field(1, ge=0)


def run_judge(model: ChatModel, items: Sequence[JudgeItem], about_user: Sequence[str | None],
              params: JudgeParams) -> list[Judgment]:
    """Judge each item, telling the model `about_user[i]` (None: nothing) about the user."""
    chats = [judge_chat(item, about, params.max_response_chars, params.mode) for item, about in zip(items, about_user)]
    if params.mode == "logprob":
        return judge_by_logprobs(model, chats)
    return judge_by_reasoning(model, chats, params.max_reasoning_tokens, params.reasoning_retries)
