"""PAL: pluralistic alignment with K shared preference prototypes (Chen et al., "PAL: Sample-Efficient
Personalized Reward Modeling for Pluralistic Alignment", ICLR 2025), on frozen (conversation, response)
embeddings.

Follows the paper's ideal-point model (PAL-A) and its few-shot protocol:
- a shared map f projects each (conversation, response) embedding into a preference space;
- K shared prototypes p_1..p_K live in that space; user u is a mixture w_u = softmax(logits_u) over
  them, their ideal point a_u = sum_k w_uk p_k, and the reward is closeness to it:
  r_u(x, y) = -||f(x, y) - a_u||^2, P(chosen) = sigmoid(r_u(chosen) - r_u(rejected));
- `setup` learns f, the prototypes and every training user's weights jointly on their train+val pairs;
- a user is adapted (`fit`) by fitting only their K mixture logits on their own train+val pairs, f and
  the prototypes frozen, as the paper does for unseen users.

Differs, and why:
- frozen embeddings (MiniLM by default; the paper's PAL models also run on frozen foundation-model
  embeddings) and a linear f, which generalised best here on a few pairs per user;
- in `fit` the user's logits start at the population's (the mean of the training users' logits) and get
  an L2 pull towards them, a Gaussian prior on the mixture: a user with a handful of pairs stays near the
  population mixture and one with many moves away (the paper leaves this to early stopping);
- full-batch Adam in `setup` (every pair every step): the benchmarks' training sets are small.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

import numpy as np
import torch
from pydantic import Field
from torch import nn

from baselines.embedded_pairs import (bt_loss, curve_point, embed_items, embed_pairs, judgments, load_module,
                                      one_thread, save_module, seed_torch, user_pairs)
from benchmark.config import Section
from benchmark.methods import Method, State, UserData, register_method
from benchmark.records import JudgeItem, Judgment


class PALNet(nn.Module):
    def __init__(self, dim: int, space: int, prototypes: int, users: int):
        super().__init__()
        self.f = nn.Linear(dim, space)
        self.prototypes = nn.Parameter(0.1 * torch.randn(prototypes, space))
        self.logits = nn.Parameter(torch.zeros(max(users, 1), prototypes))  # training users' mixtures

    def reward(self, x: torch.Tensor, logits: torch.Tensor) -> torch.Tensor:
        """(N, D) responses with each row's (N, K) mixture logits -> (N,) rewards."""
        ideal = torch.softmax(logits, dim=-1) @ self.prototypes
        return -(self.f(x) - ideal).pow(2).sum(-1)


@register_method("pal")
class PluralisticAlignment(Method):
    class Params(Section):
        prototypes: int = Field(8, ge=1, description="K shared preference prototypes")
        space: int = Field(32, ge=1, description="dimension of the preference space")
        steps: int = Field(600, ge=1, description="full-batch Adam steps of the joint fit")
        lr: float = Field(1e-2, gt=0)
        weight_decay: float = Field(1e-3, ge=0)
        fit_steps: int = Field(200, ge=1, description="Adam steps fitting a user's mixture")
        fit_lr: float = Field(5e-2, gt=0)
        # chosen on the demo's val pairs, fitting on train pairs only (val macro vs reward_model: 0.5 +8.9,
        # 0.05 +10.5, 0.01 +11.2, 0 +11.1 points); test pairs were not looked at
        mixture_prior: float = Field(0.01, ge=0, description="L2 pull of a user's logits towards the population's")
        seed: int = 0

    @property
    def model_label(self) -> str:
        return self.models.model.embedder

    def setup(self, users: Sequence[UserData]) -> State:
        p = self.params
        seed_torch(p.seed)
        data = user_pairs(self.models, users)
        chosen = torch.cat([u.chosen for u in data])
        rejected = torch.cat([u.rejected for u in data])
        owner = torch.cat([torch.full((len(u),), i) for i, u in enumerate(data)])
        net = PALNet(chosen.shape[1], p.space, p.prototypes, len(data))
        optimizer = torch.optim.Adam([{"params": [net.f.weight, net.f.bias, net.prototypes],
                                       "weight_decay": p.weight_decay},
                                      {"params": [net.logits], "weight_decay": 0.0}], lr=p.lr)
        curve, mask = [], torch.ones(len(chosen), dtype=torch.bool)
        with one_thread():
            for step in range(1, p.steps + 1):
                logits = net.logits[owner]
                margin = net.reward(chosen, logits) - net.reward(rejected, logits)
                loss = bt_loss(margin, mask) + p.mixture_prior * net.logits.pow(2).sum(-1).mean() / len(chosen)
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
                if step % 100 == 0 or step == p.steps:
                    curve.append(curve_point(step, loss.item(), float((margin > 0).float().mean())))
        sha = save_module(net, self.workdir / "pal.pt")
        population = net.logits.detach().mean(0)
        return {"weights": "pal.pt", "sha256": sha, "dim": chosen.shape[1], "n_users": len(data),
                "population_logits": population.tolist(),
                "embedder": self.models.model.embedder, "n_pairs": len(chosen), "curve": curve}

    def restore(self, shared: State) -> None:
        super().restore(shared)
        p = self.params
        net = PALNet(shared["dim"], p.space, p.prototypes, shared["n_users"])
        self.net = load_module(net, self.workdir / shared["weights"], shared["sha256"]).requires_grad_(False)
        self.population = torch.tensor([shared["population_logits"]], dtype=torch.float32)

    def fit(self, user: UserData) -> State:
        """The user's K mixture logits from their own train+val pairs, pulled towards the population's; f and
        the prototypes stay frozen."""
        p = self.params
        logits = self.population.clone().requires_grad_(True)
        if not user.known:
            return {"logits": logits[0].tolist(), "n_pairs": 0}
        chosen, rejected = (torch.from_numpy(a) for a in embed_pairs(self.models, user.known))
        mask = torch.ones(len(chosen), dtype=torch.bool)
        optimizer = torch.optim.Adam([logits], lr=p.fit_lr)
        with one_thread():
            for _ in range(p.fit_steps):
                expanded = logits.expand(len(chosen), -1)
                margin = self.net.reward(chosen, expanded) - self.net.reward(rejected, expanded)
                loss = bt_loss(margin, mask) + p.mixture_prior * (logits - self.population).pow(2).sum() / len(chosen)
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
        return {"logits": logits[0].tolist(), "mixture": torch.softmax(logits[0], -1).tolist(),
                "n_pairs": len(user.known)}

    def judge(self, items: Sequence[JudgeItem], state: State) -> list[Judgment]:
        start = time.perf_counter()
        first, second = (torch.from_numpy(a) for a in embed_items(self.models, items))
        logits = torch.tensor([state["logits"]], dtype=torch.float32).expand(len(items), -1)
        with torch.no_grad(), one_thread():
            margins = (self.net.reward(first, logits) - self.net.reward(second, logits)).numpy()
        return judgments(margins, start)
