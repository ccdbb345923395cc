"""SynthesizeMe (Ryan et al., ACL 2025): an induced persona plus selected demonstrations, per user.

fit, for each user (train pairs to learn from, val pairs to select with):
1. Bootstrap: for each training pair the model reasons about what this user might value and predicts
   their choice; only traces whose prediction matches the real choice are kept (verified).
2. Persona: from the verified traces the model writes a short persona. No verified traces, or an empty
   answer, gives no persona, and the state says why.
3. Demonstrations: candidate demo sets (the empty set first, then seeded samples of verified traces) are
   scored on the user's val pairs, both orders, with the persona in the prompt; the best one wins.
   Ties go by `tie_break` (`zero_shot`: the reference implementation's behaviour, where ties fall to the
   empty set; `most_demos`; `seeded`). The state records every candidate's score and why one won.
The state (persona, demos, the selection record, counts) is the readable per-user prompt in
`fit/<user>.json`; it is reused on resume and can be read by reward models (persona in context).
Ablations: `use_persona=false` (just demos), `use_demos=false` (just persona).
Every generation is bounded; every request is sent once (follow-ups are different requests).
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import Literal

from pydantic import Field

from benchmark.methods import Method, State, UserData
from benchmark.models.base import GenerationParams
from benchmark.records import JudgeItem, Judgment, Message
from benchmark.toolkit.judging import JudgeParams, clip, judge_by_reasoning, judge_chat, run_judge
from benchmark.toolkit.user_context import check_fit_split

PERSONA_PROMPT = ("Below are a user's past choices between two chatbot responses, each with reasoning about "
                  "why they chose as they did.\n\n{traces}\n\nWrite a short persona of this user in 3 to 5 "
                  "sentences: what they value in a response (length, tone, structure, detail, style). Write "
                  "only the persona.")


def _trace_text(trace: dict, max_chars: int) -> str:
    return (f"Request: {clip(trace['prompt'], max_chars)}\nResponse A: {clip(trace['first'], max_chars)}\n"
            f"Response B: {clip(trace['second'], max_chars)}\nReasoning: {clip(trace['reasoning'], max_chars)}\n"
            f"Answer: {'A' if trace['label'] == 'first' else 'B'}")


def persona_prompt(persona: str | None, demos: Sequence[dict], max_chars: int) -> str | None:
    """The per-user prompt: the persona and the demos with their reasoning (saved as the fit's "about_user",
    which benchmark/toolkit/user_context.py reads back for context.source=synthesizeme)."""
    parts = [persona] if persona else []
    if demos:
        parts.append("Examples of this user's past choices, with reasoning:\n\n" +
                     "\n\n".join(_trace_text(d, max_chars) for d in demos))
    return "\n\n".join(parts) or None


class SynthesizeMe(Method):
    class Params(JudgeParams):
        use_persona: bool = True
        use_demos: bool = True
        max_demos: int = Field(3, ge=1)
        candidates: int = Field(4, ge=0, description="demo sets tried besides the empty one")
        tie_break: Literal["zero_shot", "most_demos", "seeded"] = "zero_shot"
        bootstrap_tokens: int = Field(192, ge=8)
        persona_tokens: int = Field(160, ge=8)
        demo_chars: int = Field(500, ge=50, description="clip: each text of the bootstrap prompts (responses and "
                                "context), traces and demonstrations; the paper clips nothing")
        seed: int = 0

    def _bootstrap(self, user: UserData) -> tuple[list[dict], dict]:
        rng = random.Random(f"{self.params.seed}:bootstrap:{user.user_id}")
        items, labels = [], []
        for pair in user.train:
            order = rng.choice(("AB", "BA"))
            items.append(JudgeItem.from_pair(pair, order))
            labels.append("first" if order == "AB" else "second")
        chats = [judge_chat(i, None, self.params.demo_chars, "reasoning") for i in items]
        judgments = judge_by_reasoning(self.models.chat(), chats, self.params.bootstrap_tokens,
                                       self.params.reasoning_retries)
        verified = [{"pair_id": i.pair_id, "prompt": i.context[-1].content, "first": i.first, "second": i.second,
                     "reasoning": j.raw.split("\n[follow-up")[0].strip(), "label": label}
                    for i, j, label in zip(items, judgments, labels) if j.preferred == label]
        counts = {"bootstrapped": len(items), "verified": len(verified),
                  "unparsed": sum(j.preferred == "fail" for j in judgments)}
        return verified, counts

    def _persona(self, verified: list[dict]) -> tuple[str | None, str]:
        if not self.params.use_persona:
            return None, "off (use_persona=false)"
        if not verified:
            return None, "none: no verified reasoning trace to induce it from"
        traces = "\n\n".join(_trace_text(t, self.params.demo_chars) for t in verified)
        chat = [Message("user", PERSONA_PROMPT.format(traces=traces))]
        (out,) = self.models.chat().generate([chat], GenerationParams(max_new_tokens=self.params.persona_tokens))
        text = (out.text or "").strip()
        if out.error or not text:
            return None, f"none: the model gave no persona ({out.error or 'empty answer'})"
        return text, "induced"

    def _select(self, user: UserData, persona: str | None, verified: list[dict]) -> tuple[list[dict], dict]:
        p = self.params
        rng = random.Random(f"{p.seed}:demos:{user.user_id}")
        candidates: list[list[dict]] = [[]]
        if p.use_demos and verified:
            size = min(p.max_demos, len(verified))
            seen = set()
            for _ in range(p.candidates):
                pick = tuple(sorted(rng.sample(range(len(verified)), size)))
                if pick not in seen:
                    seen.add(pick)
                    candidates.append([verified[i] for i in pick])
        if len(candidates) == 1 or not user.val:
            reason = "only the empty set" if len(candidates) == 1 else "no val pairs to select with"
            return [], {"candidates": [], "winner": 0, "reason": reason}
        items = [JudgeItem.from_pair(pair, o) for pair in user.val for o in ("AB", "BA")]
        truth = ["first" if i % 2 == 0 else "second" for i in range(len(items))]
        scores = []
        for demos in candidates:
            about = persona_prompt(persona, demos, p.demo_chars)
            judgments = run_judge(self.models.chat(), items, [about] * len(items), p)
            scores.append(sum(j.preferred == t for j, t in zip(judgments, truth)) / len(items))
        best = max(scores)
        tied = [i for i, s in enumerate(scores) if s == best]
        if p.tie_break == "zero_shot":
            winner = tied[0]
        elif p.tie_break == "most_demos":
            winner = max(tied, key=lambda i: (len(candidates[i]), -i))
        else:
            winner = random.Random(f"{p.seed}:tie:{user.user_id}").choice(tied)
        reason = (f"best val accuracy {best:.3f}" + (f"; tie among candidates {tied} broken by {p.tie_break}"
                                                     if len(tied) > 1 else ""))
        record = {"candidates": [{"demos": [d["pair_id"] for d in c], "val_accuracy": s}
                                 for c, s in zip(candidates, scores)], "winner": winner, "reason": reason}
        return candidates[winner], record

    def fit(self, user: UserData) -> State:
        verified, counts = self._bootstrap(user) if (self.params.use_persona or self.params.use_demos) else ([], {})
        persona, persona_status = self._persona(verified)
        demos, selection = self._select(user, persona, verified)
        return {"persona": persona, "persona_status": persona_status, "demos": demos, "selection": selection,
                **counts, "about_user": persona_prompt(persona, demos, self.params.demo_chars)}

    @classmethod
    def fitted_about_user(cls, state: State, user: UserData) -> str | None:
        """The prompt judged with (persona and demonstrations), for reward models that read it."""
        check_fit_split(state, user)
        return state.get("about_user")

    def judge(self, items: Sequence[JudgeItem], state: State) -> list[Judgment]:
        return run_judge(self.models.chat(), items, [state["about_user"]] * len(items), self.params)
