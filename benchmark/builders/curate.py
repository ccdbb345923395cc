"""Curation like PersonalRewardBench: optional LLM filters, per-user caps, minimum pairs, user sampling.

The LLM filters (off by default) run through the project's model layer, so their answers are cached:
- `personalizable`: keep pairs whose prompt the model thinks people could reasonably answer differently;
- `disagreement`: keep pairs on which a panel of judges (both orders each) does not agree unanimously.
"""

from __future__ import annotations

import math
import random
from collections import defaultdict

from pydantic import Field

from benchmark.builders.counts import BuildReport
from benchmark.config import Section
from benchmark.records import JudgeItem, Message, PreferencePair
from benchmark.splits import seeded_order
from benchmark.toolkit.judging import judge_by_logprobs, judge_chat

PERSONALIZABLE = ("Here is a request someone made to an AI assistant:\n\n{prompt}\n\nCould different people "
                  "reasonably prefer different answers to it, because of their own tastes, values or needs? "
                  "Answer Yes or No.")


class CurationOptions(Section):
    min_pairs: int = Field(5, ge=1)
    max_pairs_per_user: int | None = Field(None, ge=1)  # a seeded sample of each user's pairs
    max_users: int | None = Field(None, ge=1)           # a seeded sample of users
    seed: int = 0
    personalizable_filter: bool = False
    personalizable_threshold: float = Field(0.5, ge=0, le=1)
    disagreement_filter: bool = False
    panel: list[str] = []  # model names (same backend) for the disagreement filter


def personalizable(pairs: list[PreferencePair], chat, threshold: float) -> list[bool]:
    chats = [[Message("user", PERSONALIZABLE.format(prompt=p.context[-1].content))] for p in pairs]
    keep = []
    for result in chat.choice_logprobs(chats, ("Yes", "No")):
        if result.error:
            keep.append(True)  # the filter only removes what it could judge
            continue
        yes, no = result.logprobs["Yes"], result.logprobs["No"]
        keep.append(1 / (1 + math.exp(no - yes)) >= threshold)
    return keep


def disagreement(pairs: list[PreferencePair], panel_chats: list) -> list[bool]:
    votes = defaultdict(set)
    prompts = [judge_chat(JudgeItem.from_pair(p, o)) for p in pairs for o in ("AB", "BA")]
    for chat in panel_chats:
        judgments = judge_by_logprobs(chat, prompts)
        for k, pair in enumerate(pairs):
            ab, ba = judgments[2 * k].preferred, judgments[2 * k + 1].preferred
            votes[pair.pair_id].add("chosen" if (ab, ba) == ("first", "second") else
                                    "rejected" if (ab, ba) == ("second", "first") else "unsure")
    return [len(votes[p.pair_id]) > 1 for p in pairs]


def curate(pairs: list[PreferencePair], opts: CurationOptions, report: BuildReport,
           models=None) -> list[PreferencePair]:
    """Apply the stages in order, counting what each removes. `models(name)` gives a chat model."""
    if opts.personalizable_filter:
        keep = personalizable(pairs, models(None), opts.personalizable_threshold)
        report.drop("LLM filter: not personalizable", keep.count(False))
        pairs = [p for p, k in zip(pairs, keep) if k]
    if opts.disagreement_filter:
        keep = disagreement(pairs, [models(name) for name in opts.panel or [None]])
        report.drop("LLM filter: judges agree", keep.count(False))
        pairs = [p for p, k in zip(pairs, keep) if k]
    by_user: dict[str, list[PreferencePair]] = defaultdict(list)
    for pair in pairs:
        by_user[pair.user_id].append(pair)
    if opts.max_pairs_per_user:
        for user, own in by_user.items():
            if len(own) > opts.max_pairs_per_user:
                report.drop("over max_pairs_per_user", len(own) - opts.max_pairs_per_user)
                by_user[user] = seeded_order(own, opts.seed)[:opts.max_pairs_per_user]
    small = [u for u, own in by_user.items() if len(own) < opts.min_pairs]
    report.drop(f"user with fewer than {opts.min_pairs} pairs", sum(len(by_user.pop(u)) for u in small))
    users = sorted(by_user)
    if opts.max_users and len(users) > opts.max_users:
        kept = set(random.Random(opts.seed).sample(users, opts.max_users))
        report.drop("user not sampled (max_users)", sum(len(by_user[u]) for u in users if u not in kept))
        users = sorted(kept)
    out = [p for u in users for p in sorted(by_user[u], key=lambda p: p.pair_id)]
    report.pairs = len(out)
    return out
