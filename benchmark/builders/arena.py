"""lmsys/chatbot_arena_conversations -> preference pairs. The user is the `judge` field.

Multi-turn battles: the vote covers the whole dialogue, and after the first reply the two sides' histories
differ. `first_turn` (default) keeps the first user message and the two first replies: a shared context,
at the cost of ignoring later turns. `full_context` keeps the winning side's whole dialogue up to its last
user turn as context and compares the two last replies; the loser's last reply answered a slightly
different history, which this option accepts.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Literal

from benchmark.builders.counts import BuildReport
from benchmark.config import Section
from benchmark.data.validate import parse_message
from benchmark.errors import DataError
from benchmark.records import Message, PreferencePair

WINNERS = {"model_a": ("a", "b"), "model_b": ("b", "a")}
TIES = ("tie", "tie (bothbad)")


class ArenaOptions(Section):
    anonymous_only: bool = True
    languages: list[str] | None = None     # e.g. ["English"]; None keeps every language
    drop_flagged: bool = True              # drop conversations OpenAI moderation flagged
    multi_turn: Literal["first_turn", "full_context"] = "first_turn"
    on_bad_row: Literal["error", "skip"] = "error"  # skip: malformed rows are counted, not fatal


def _side(row: Mapping, side: str, where: dict) -> list[Message]:
    conversation = row.get(f"conversation_{side}")
    if conversation is None or not hasattr(conversation, "__len__") or isinstance(conversation, str):
        raise DataError("missing or not a list of messages", **where, field=f"conversation_{side}")
    messages = [parse_message(m, where={**where, "field": f"conversation_{side}"}) for m in conversation]
    if not any(m.role == "assistant" for m in messages):
        raise DataError("conversation has no assistant turn", **where, field=f"conversation_{side}")
    return messages


def _pair(row: Mapping, index: int, source: str, opts: ArenaOptions) -> PreferencePair:
    where = {"source": source, "row": index}
    winner = row.get("winner")
    if winner is None:
        raise DataError("missing winner", **where, field="winner")
    if winner not in WINNERS:
        raise DataError(f"unknown winner value {winner!r} (expected model_a, model_b, tie, tie (bothbad))",
                        **where, field="winner")
    win, lose = WINNERS[winner]
    chosen_side, rejected_side = _side(row, win, where), _side(row, lose, where)
    if opts.multi_turn == "first_turn":
        first_user = next(m for m in chosen_side if m.role == "user")
        context = (first_user,)
        chosen = next(m.content for m in chosen_side if m.role == "assistant")
        rejected = next(m.content for m in rejected_side if m.role == "assistant")
    else:
        last = max(i for i, m in enumerate(chosen_side) if m.role == "assistant")
        context = tuple(chosen_side[:last])
        chosen = chosen_side[last].content
        rejected = [m for m in rejected_side if m.role == "assistant"][-1].content
    if not chosen.strip() or not rejected.strip() or chosen == rejected:
        raise DataError("empty or identical responses", **where, field=f"conversation_{win}")
    meta = {"conversation_id": row.get("question_id"), "chosen_model": row.get(f"model_{win}"),
            "rejected_model": row.get(f"model_{lose}"), "language": row.get("language"), "turns": row.get("turn"),
            "type": "arena"}
    return PreferencePair(f"{row.get('question_id')}", str(row["judge"]), context, chosen, rejected,
                          None, "arena_raw", meta)


def arena_pairs(rows: Iterable[Mapping], opts: ArenaOptions, source: str) -> tuple[list[PreferencePair], BuildReport]:
    report, pairs = BuildReport(), []
    for index, row in enumerate(rows, 1):  # rows are 1-based in messages
        report.rows += 1
        if row.get("winner") in TIES:
            report.drop("tie (no preference)")
            continue
        if opts.anonymous_only and not row.get("anony", True):
            report.drop("not anonymous")
            continue
        if opts.languages is not None and row.get("language") not in opts.languages:
            report.drop("language filter")
            continue
        if opts.drop_flagged and (row.get("openai_moderation") or {}).get("flagged"):
            report.drop("moderation flagged")
            continue
        if not row.get("judge"):
            error = DataError("missing judge (the user id)", source=source, row=index, field="judge")
        else:
            try:
                pairs.append(_pair(row, index, source, opts))
                continue
            except DataError as caught:
                error = caught
        if opts.on_bad_row == "error":
            raise error
        report.drop(f"malformed row ({error.field})")
    report.pairs = len(pairs)
    return pairs, report
