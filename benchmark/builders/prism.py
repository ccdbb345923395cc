"""HannahRoseKirk/prism-alignment conversations (+ survey) -> preference pairs and user profiles.

In each turn the chosen response (`if_chosen`) is paired with the others: all of them, or only the
lowest-scored, optionally only when the score gap is at least `min_score_gap`. The context is the
conversation so far along the chosen path (role `model` becomes `assistant`), ending with the turn's user
message. The survey gives each user a profile: demographics, stated preferences and self-description.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Literal

from benchmark.builders.counts import BuildReport
from benchmark.config import Section
from benchmark.errors import DataError
from benchmark.records import Message, PreferencePair, UserProfile

DEMOGRAPHICS = ("age", "gender", "education", "employment_status", "marital_status", "english_proficiency",
                "lm_familiarity", "lm_frequency_use")


class PrismOptions(Section):
    rejected: Literal["all", "lowest"] = "all"
    min_score_gap: int = 0
    require_survey: bool = True          # a user missing from the survey is an error (or skipped, below)
    on_bad_row: Literal["error", "skip"] = "error"


def _turns(history: list[Mapping], where: dict) -> list[tuple[Mapping, list[Mapping]]]:
    turns: dict[int, tuple[list, list]] = {}
    for item in history:
        users, models = turns.setdefault(int(item.get("turn", 0)), ([], []))
        role = item.get("role")
        if role == "user":
            users.append(item)
        elif role == "model":
            models.append(item)
        else:
            raise DataError(f"unknown role {role!r} in conversation_history", **where)
    out = []
    for number in sorted(turns):
        users, models = turns[number]
        if len(users) != 1:
            raise DataError(f"turn {number} has {len(users)} user messages (expected 1)", **where)
        out.append((users[0], models))
    return out


def _conversation_pairs(row: Mapping, index: int, source: str, opts: PrismOptions,
                        report: BuildReport) -> list[PreferencePair]:
    where = {"source": source, "row": index, "field": "conversation_history"}
    history = row.get("conversation_history")
    if not isinstance(history, list) or not history:
        raise DataError("missing or empty conversation_history", **where)
    pairs, context = [], []
    for turn, (user_msg, responses) in enumerate(_turns(history, where)):
        context.append(Message("user", user_msg["content"]))
        for r in responses:
            score = r.get("score")
            if not isinstance(score, (int, float)) or not 1 <= score <= 100:
                raise DataError(f"turn {turn}: score {score!r} out of range 1-100", **where)
        chosen = [r for r in responses if r.get("if_chosen")]
        if len(chosen) != 1:
            raise DataError(f"turn {turn}: {len(chosen)} chosen responses (expected exactly 1)", **where)
        chosen = chosen[0]
        others = sorted((r for r in responses if r is not chosen),
                        key=lambda r: (r["score"], r.get("within_turn_id", 0)))
        if opts.rejected == "lowest":
            others = others[:1]
        for other in others:
            if chosen["score"] - other["score"] < opts.min_score_gap:
                report.drop("score gap below min_score_gap")
                continue
            if other["content"] == chosen["content"] or not other["content"].strip():
                report.drop("empty or identical responses")
                continue
            pairs.append(PreferencePair(
                f"{row['conversation_id']}-t{turn}-r{other.get('within_turn_id', 0)}", str(row["user_id"]),
                tuple(context), chosen["content"], other["content"], None, "prism_raw",
                {"conversation_id": row["conversation_id"], "type": row.get("conversation_type"), "turns": turn + 1,
                 "chosen_score": float(chosen["score"]), "rejected_score": float(other["score"]),
                 "chosen_model": chosen.get("model_name"), "rejected_model": other.get("model_name")}))
        context.append(Message("assistant", chosen["content"]))
    return pairs


def profile(row: Mapping) -> UserProfile:
    """A survey row as what persona methods may read."""
    demographics: dict[str, Any] = {k: row.get(k) for k in DEMOGRAPHICS if row.get(k) is not None}
    for key in ("religion", "ethnicity"):
        if isinstance(row.get(key), Mapping) and row[key].get("simplified"):
            demographics[key] = row[key]["simplified"]
    location = row.get("location") if isinstance(row.get("location"), Mapping) else {}
    if location.get("reside_country"):
        demographics["country"] = location["reside_country"]
    prefs = row.get("stated_prefs") if isinstance(row.get("stated_prefs"), Mapping) else {}
    rated = ", ".join(f"{k} {v}" for k, v in prefs.items() if isinstance(v, (int, float)))
    stated = "\n".join(part for part in (
        f"About me: {row['self_description']}" if row.get("self_description") else "",
        f"What I want from an AI: {row['system_string']}" if row.get("system_string") else "",
        f"Importance (0-100): {rated}" if rated else "") if part)
    return UserProfile(str(row["user_id"]), demographics, stated or None)


def prism_pairs(conversations: Iterable[Mapping], survey: Iterable[Mapping] | None, opts: PrismOptions,
                source: str) -> tuple[list[PreferencePair], dict[str, UserProfile], BuildReport]:
    profiles = {str(r["user_id"]): profile(r) for r in survey or []}
    report, pairs = BuildReport(), []
    for index, row in enumerate(conversations, 1):  # rows are 1-based in messages
        report.rows += 1
        try:
            user = row.get("user_id")
            if not user:
                raise DataError("missing user_id", source=source, row=index, field="user_id")
            if opts.require_survey and str(user) not in profiles:
                raise DataError(f"user {user!r} is missing from the survey", source=source, row=index,
                                field="user_id")
            pairs += _conversation_pairs(row, index, source, opts, report)
        except DataError as error:
            if opts.on_bad_row == "error":
                raise
            report.drop(f"malformed row ({error.field})")
    report.pairs = len(pairs)
    return pairs, profiles, report
