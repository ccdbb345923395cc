"""Fine-tuned Bradley-Terry reward model (the paper's "FT RM"), optionally with the user in context.

setup: fine-tune `model.name` with a scalar head and LoRA (TRL's reward trainer) on every user's train and
val pairs; with `context.source` set (e.g. `synthesizeme`: the prompts a SynthesizeMe run saved) each
pair is shown with its user's description, as in "FT RM + SynthesizeMe". The adapter is saved in the run
folder (`method/adapter`; `merged: true` adds a plain classification checkpoint in `method/merged`), and
every judgment is scored by the adapter reloaded from there. Reloading is checked: the reloaded model must
reproduce the rewards the trained model gave a probe of training conversations.
Pairs longer than `backend.max_prompt_tokens` are left out of training (counted in the state) and are
counted failures at test time. Needs `backend=transformers` (CPU or GPU).
`unseen_fraction` keeps a seeded set of users out of training (baselines/unseen.py); this model does not
adapt to a user, so it scores them as it scores everyone.
"""

from __future__ import annotations

from collections.abc import Sequence

from pydantic import Field

from baselines.unseen import HeldOutUsers, split_training_users
from benchmark.errors import ConfigError, RunError
from benchmark.methods import Method, State, UserData
from benchmark.models.packaged import resolve_model
from benchmark.models.reward_models import TransformersReward
from benchmark.models.tokens import encode_conversation
from benchmark.records import JudgeItem, Judgment
from benchmark.toolkit.reward_training import LoraRecipe, train_bt_reward
from benchmark.toolkit.user_context import UserContext, about_user
from benchmark.toolkit.verdicts import conversations, judge_by_rewards

PROBE = 16  # training conversations whose rewards the reloaded adapter must reproduce


class BradleyTerryRewardModel(Method):
    class Params(HeldOutUsers):
        context: UserContext = UserContext()
        lora: LoraRecipe = LoraRecipe()
        merged: bool = False
        probe_tolerance: float = Field(1e-4, ge=0, description="max reward change allowed on reload")

    @property
    def reads_oracle(self) -> bool:
        return self.params.context.source == "oracle"

    @property
    def model_label(self) -> str:
        return f"{self.models.model.name} (BT LoRA)"

    def _backend(self):
        backend = self.models.backend
        if backend.kind != "transformers":
            raise ConfigError(f"config backend.kind: bt_reward_model trains with transformers, not {backend.kind!r}")
        return backend

    def setup(self, users: Sequence[UserData]) -> State:
        from transformers import AutoTokenizer

        backend, ctx = self._backend(), self.params.context
        tokenizer = AutoTokenizer.from_pretrained(resolve_model(self.models.model.name))
        users, unseen = split_training_users(users, self.params)
        rows, too_long = [], 0
        for user in users:
            about = about_user(ctx, user)
            for pair in user.known:
                chosen, rejected = conversations(JudgeItem.from_pair(pair, "AB"), about, ctx.placement)
                row = {"chosen_ids": encode_conversation(tokenizer, chosen),
                       "rejected_ids": encode_conversation(tokenizer, rejected)}
                if max(map(len, row.values())) > backend.max_prompt_tokens:
                    too_long += 1
                else:
                    rows.append(row)
        if not rows:
            raise RunError("bt_reward_model: no training pair fits backend.max_prompt_tokens")
        model, tokenizer, metrics = train_bt_reward(self.models.model.name, rows, self.params.lora, self.workdir,
                                                    backend.dtype, backend.device, self.params.merged)
        probe = [ids for row in rows[:PROBE // 2] for ids in row.values()]
        trained = TransformersReward(self.model_label, model, tokenizer, backend.batch_size, backend.max_prompt_tokens)
        return {"adapter": "adapter", "train_pairs": len(rows), "dropped_too_long": too_long, **metrics,
                "probe_rewards": trained.score_ids(probe), "probe_ids": probe,
                **({"unseen_users": unseen} if unseen else {})}

    def restore(self, shared: State) -> None:
        super().restore(shared)
        backend = self._backend()
        self.scorer = TransformersReward.load(str(self.workdir / shared["adapter"]), backend.dtype, backend.batch_size,
                                              backend.max_prompt_tokens, backend.device)
        again = self.scorer.score_ids(shared["probe_ids"])
        drift = max(abs(a - b) for a, b in zip(again, shared["probe_rewards"]))
        if drift > self.params.probe_tolerance:
            raise RunError(f"the adapter in {self.workdir} does not reproduce its training rewards "
                           f"(max change {drift:.2e}); delete the run folder and train again")

    def fit(self, user: UserData) -> State:
        return {"about_user": about_user(self.params.context, user)}

    def judge(self, items: Sequence[JudgeItem], state: State) -> list[Judgment]:
        return judge_by_rewards(self.scorer, items, state["about_user"], self.params.context.placement)
