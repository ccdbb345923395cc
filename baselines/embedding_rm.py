"""Embedding reward model: a Bradley-Terry logistic model on all-MiniLM-L6-v2 embeddings.

Each response is embedded as the mean of its paragraphs' embeddings; a pair's feature is the difference of
the two, and P(first preferred) = sigmoid(w · (e_first - e_second)). (The prompt is shared by both
responses, so in a linear model on differences it would cancel; it is not embedded.)
- `global`: one w fit (scikit-learn) on every user's train and val pairs.
- `personal`: per user, w_u = argmin logloss(user's train+val pairs) + prior/2 · |w_u - w_global|²,
  i.e. the global model adapted to the user's own choices, shrunk towards it when they are few.
- `user_features`: one global model on [d, d ⊙ u], where u is the user's embedding: the
  (chosen − rejected) direction of their own train+val pairs, scaled to norm sqrt(dim), leaving out the pair
  being learned from (so a training pair never sees its own label in u). A user's direction is w + v ⊙ u.

With `model.embedder=hidden_last` / `hidden_mean` a response is the chat model's hidden state of the
conversation + response read as one sequence (baselines/embedded_pairs.py, as the learned personalized RMs
read it), and runs are labelled with the chat model's name. `unseen_fraction` keeps a seeded set of users
out of the global fit (baselines/unseen.py): `personal` and `user_features` then adapt to them from their
own pairs only.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Literal

import numpy as np
from pydantic import Field
from scipy.optimize import minimize
from scipy.special import expit, log_expit
from sklearn.linear_model import LogisticRegression

from baselines.unseen import HeldOutUsers, split_training_users
from benchmark.methods import Method, State, UserData
from benchmark.records import Cost, JudgeItem, Judgment, PreferencePair


def _direction(v: np.ndarray) -> np.ndarray:
    """Rows of `v` scaled to norm sqrt(dim), so user features d ⊙ u have the scale of d."""
    norm = np.linalg.norm(v, axis=-1, keepdims=True)
    return v / np.where(norm > 0, norm, 1.0) * np.sqrt(v.shape[-1])


class EmbeddingRewardModel(Method):
    class Params(HeldOutUsers):
        variant: Literal["global", "personal", "user_features"] = "global"
        C: float = Field(1.0, gt=0, description="inverse L2 strength of the global logistic regression")
        prior: float = Field(0.03, gt=0, description="pull of the personal model towards the global one")

    @property
    def model_label(self) -> str:
        from baselines.embedded_pairs import embedding_label

        return embedding_label(self.models)

    def _features(self, first: Sequence[str], second: Sequence[str], contexts: Sequence = ()) -> np.ndarray:
        embedder = self.models.embedder()
        if hasattr(embedder, "encode_conversations"):  # a chat model's hidden states of conversation + response
            from baselines.embedded_pairs import embed_responses

            return embed_responses(self.models, contexts, first) - embed_responses(self.models, contexts, second)
        return embedder.encode_paragraphs(first) - embedder.encode_paragraphs(second)

    def _pair_features(self, pairs: Sequence[PreferencePair]) -> np.ndarray:
        """chosen − rejected, one row per pair."""
        return self._features([p.chosen for p in pairs], [p.rejected for p in pairs], [p.context for p in pairs])

    def _fit_global(self, x: np.ndarray) -> np.ndarray:
        """Logistic regression without intercept on differences, shown in both orders."""
        model = LogisticRegression(C=self.params.C, fit_intercept=False, max_iter=2000)
        model.fit(np.vstack([x, -x]), np.r_[np.ones(len(x)), np.zeros(len(x))])
        return model.coef_[0]

    def setup(self, users: Sequence[UserData]) -> State:
        users, unseen = split_training_users(users, self.params)
        held_out = {"unseen_users": unseen} if unseen else {}
        pairs = [p for user in users for p in user.known]
        if self.params.variant != "user_features":
            return {"w": self._fit_global(self._pair_features(pairs)).tolist(), "n_pairs": len(pairs), **held_out}
        rows = []
        for user in users:
            d = self._pair_features(user.known)
            if len(d) < 2:
                continue
            rows.append(np.hstack([d, d * _direction(d.sum(axis=0) - d)]))  # leave-one-out user embedding
        wv = self._fit_global(np.vstack(rows))
        return {"w": wv[: wv.size // 2].tolist(), "v": wv[wv.size // 2:].tolist(), "n_pairs": len(pairs), **held_out}

    def fit(self, user: UserData) -> State:
        if self.params.variant == "global":
            return {}
        if self.params.variant == "user_features":
            return {"u": _direction(self._pair_features(user.known).sum(axis=0)).tolist(), "n_pairs": len(user.known)}
        w0 = np.asarray(self.shared["w"])
        pairs = user.known
        x = self._pair_features(pairs)
        prior = self.params.prior

        def loss(w: np.ndarray) -> tuple[float, np.ndarray]:
            z = x @ w
            d = w - w0
            grad = -(x.T @ expit(-z)) + prior * d
            return float(-log_expit(z).sum() + 0.5 * prior * d @ d), grad

        w = minimize(loss, w0, jac=True, method="L-BFGS-B").x
        return {"w": w.tolist(), "n_pairs": len(pairs)}

    def judge(self, items: Sequence[JudgeItem], state: State) -> list[Judgment]:
        start = time.perf_counter()
        w = np.asarray(state.get("w", self.shared["w"]))
        if "u" in state:  # user_features: the user's own direction
            w = w + np.asarray(self.shared["v"]) * np.asarray(state["u"])
        margin = self._features([i.first for i in items], [i.second for i in items], [i.context for i in items]) @ w
        cost = Cost(seconds=(time.perf_counter() - start) / max(len(items), 1))
        return [Judgment("first" if m > 0 else "second" if m < 0 else "tie", float(expit(m)), cost=cost,
                         margin=float(m)) for m in margin]
