"""The judge prompt shared by every LLM-judge method, and the mapping from model output to Judgment.

Layout of the prompt (one user message after a short system message):
    [About this user]      optional: persona, profile or past choices, supplied by the method
    Conversation           the context, one `[role]: text` block per message
    Response A / B         the two candidates in display order
    Question               which response would this user prefer? answer with one letter
The verdict is read from the next-token log-probabilities of "A" and "B": no free-text parsing.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from benchmark.models.base import ChoiceResult
from benchmark.records import JudgeItem, Judgment, Message

CHOICES = ("A", "B")
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


def judge_chat(item: JudgeItem, about_user: str | None = None, max_chars: int = 4000) -> list[Message]:
    sections = []
    if about_user:
        sections.append(f"## About this user\n{about_user}")
    sections += [
        f"## Conversation\n{render_conversation(item.context, max_chars)}",
        f"## Response A\n{clip(item.first, max_chars)}",
        f"## Response B\n{clip(item.second, max_chars)}",
        "## Question\nWhich response would this user prefer? Answer with a single letter: A or B.",
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
