"""PAL: pluralistic alignment with K shared preference prototypes (Chen et al., "PAL: Sample-Efficient
Personalized Reward Modeling for Pluralistic Alignment", ICLR 2025), on frozen (conversation, response)
embeddings.

Follows the paper's ideal-point model (PAL-A) and the authors' code (RamyaLab/pluralistic-alignment;
re-implemented here, not copied):
- a shared map f projects each (conversation, response) embedding into a preference space
  (`src/pal_rm_a/itemLearner.py`, the `projector`);
- K shared prototypes p_1..p_K; user u is a mixture w_u = softmax(logits_u) over them and their ideal
  point is a_u = sum_k w_uk p_k (`src/pal_rm_a/userLearner.py`, `UserLearner_Pw`: `softmax(W[u]) @ P`);
- the reward is closeness to the ideal point; P(chosen) = sigmoid(r_u(chosen) - r_u(rejected));
- `setup` learns f, the prototypes and every training user's mixture logits jointly (the authors' "new
  pair" mode), with no penalty on the logits (their optimizer gives W weight decay 0,
  `config/optim_config/*.yaml`);
- a user is adapted (`fit`) by fitting only their K mixture logits on their own train+val pairs, f and the
  prototypes frozen (`main_pal_b_unseen.py`: the trained model loaded, `update_trainable_params` fixes the
  LLM and projectors, only the new users' W is trained).

Differs, and why:
- frozen embeddings (MiniLM by default; `model.embedder=hidden_last` for a chat model's hidden states;
  the authors' PAL-A can also keep the LLM fixed, `main_pal_a_fix_llm.py`);
- squared distance with the Bradley-Terry log-loss, r_u = -||f(x) - a_u||^2 (the authors' PAL-A uses the
  distance itself with a hinge loss, `PrefLearner_dist` and `config/loss_config/a-*.yaml`), and f linear
  (`f_layers=2`: a 2-layer ReLU MLP like the authors' `mlp2` projector);
- `fit` runs L-BFGS to convergence (the authors train the new users' W for a number of epochs with AdamW),
  starting at the population's logits (the mean of the training users'; the authors start at random) and,
  with `mixture_prior` > 0, adds a Gaussian prior centred there: the user's objective is the *sum* of their
  pairs' log-losses plus mixture_prior / 2 · ||logits - population||^2, so a user with a few pairs stays
  near the population's mixture and one with many moves away as their pairs say (the authors have no
  prior); `mixture_prior` = 0, the default, is none;
- full-batch Adam in `setup` (every pair every step): the benchmarks' training sets are small.

Settings checked on the demo's *val* pairs, every model fit on train pairs only, over training seeds 0, 1, 2
(`python scripts/val_accuracy.py pal ++method.params.<name>=<value> --seeds 0 1 2`; val macro difference from
`reward_model`, mean ± sd over the seeds). Defaults: +9.81 ± 1.54. Linear f over the 2-layer MLP (+4.40 ±
0.76); no prior over mixture_prior 1 (+7.56 ± 2.10) and 10 (+4.59 ± 1.00) (0 is also the authors'); 600 steps
stays (300: +9.93 ± 1.64, 1,200: +9.92 ± 2.52, within the spread). Not tuned: K = 8 prototypes, a 32-dim
space, the learning rates.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

import torch
from pydantic import Field
from torch import nn

from baselines.embedded_pairs import (
    bt_loss,
    curve_point,
    embed_items,
    embed_pairs,
    embedding_label,
    judgments,
    load_module,
    one_thread,
    save_module,
    seed_torch,
    user_pairs,
)
from baselines.unseen import HeldOutUsers, split_training_users
from benchmark.methods import Method, State, UserData
from benchmark.records import JudgeItem, Judgment


class PALNet(nn.Module):
    def __init__(self, dim: int, space: int, prototypes: int, users: int, f_layers: int = 1):
        super().__init__()
        self.f = nn.Linear(dim, space) if f_layers == 1 else \
            nn.Sequential(nn.Linear(dim, space), nn.ReLU(), nn.Linear(space, space))
        self.prototypes = nn.Parameter(0.1 * torch.randn(prototypes, space))
        self.logits = nn.Parameter(torch.zeros(max(users, 1), prototypes))  # training users' mixtures

    def reward(self, x: torch.Tensor, logits: torch.Tensor) -> torch.Tensor:
        """(N, D) responses with each row's (N, K) mixture logits -> (N,) rewards."""
        ideal = torch.softmax(logits, dim=-1) @ self.prototypes
        return -(self.f(x) - ideal).pow(2).sum(-1)


def fit_mixture(net: PALNet, chosen: torch.Tensor, rejected: torch.Tensor, start: torch.Tensor, prior: float,
                max_iter: int) -> torch.Tensor:
    """MAP mixture logits of one user: the sum of their pairs' Bradley-Terry log-losses plus prior / 2 ·
    ||logits - start||^2, by L-BFGS from `start` (f and the prototypes frozen). (1, K) -> (1, K)."""
    logits = start.clone().requires_grad_(True)
    optimizer = torch.optim.LBFGS([logits], lr=1.0, max_iter=max_iter, tolerance_grad=1e-6,
                                  tolerance_change=1e-9, line_search_fn="strong_wolfe")
    with torch.no_grad():
        f_chosen, f_rejected = net.f(chosen), net.f(rejected)

    def closure() -> torch.Tensor:
        optimizer.zero_grad()
        ideal = torch.softmax(logits, dim=-1) @ net.prototypes
        margin = (f_rejected - ideal).pow(2).sum(-1) - (f_chosen - ideal).pow(2).sum(-1)
        loss = -torch.nn.functional.logsigmoid(margin).sum() + 0.5 * prior * (logits - start).pow(2).sum()
        loss.backward()
        return loss

    optimizer.step(closure)
    return logits.detach()


class PluralisticAlignment(Method):
    class Params(HeldOutUsers):
        prototypes: int = Field(8, ge=1, description="K shared preference prototypes")
        space: int = Field(32, ge=1, description="dimension of the preference space")
        f_layers: int = Field(1, ge=1, le=2, description="1: linear f; 2: a 2-layer ReLU MLP (the authors' mlp2)")
        steps: int = Field(600, ge=1, description="full-batch Adam steps of the joint fit")
        lr: float = Field(1e-2, gt=0)
        weight_decay: float = Field(1e-3, ge=0, description="on f and the prototypes (not the users' logits)")
        fit_iterations: int = Field(100, ge=1, description="L-BFGS iterations fitting a user's mixture")
        mixture_prior: float = Field(0.0, ge=0, description="precision of the Gaussian prior on a user's logits, "
                                                            "centred on the population's; 0: none")
        seed: int = 0

    @property
    def model_label(self) -> str:
        return embedding_label(self.models)

    def setup(self, users: Sequence[UserData]) -> State:
        p = self.params
        seed_torch(p.seed)
        training, unseen = split_training_users(users, p)
        data = user_pairs(self.models, training)
        chosen = torch.cat([u.chosen for u in data])
        rejected = torch.cat([u.rejected for u in data])
        owner = torch.cat([torch.full((len(u),), i) for i, u in enumerate(data)])
        net = PALNet(chosen.shape[1], p.space, p.prototypes, len(data), p.f_layers)
        shared_parts = [q for name, q in net.named_parameters() if name != "logits"]
        optimizer = torch.optim.Adam([{"params": shared_parts, "weight_decay": p.weight_decay},
                                      {"params": [net.logits], "weight_decay": 0.0}], lr=p.lr)
        curve, mask = [], torch.ones(len(chosen), dtype=torch.bool)
        with one_thread():
            for step in range(1, p.steps + 1):
                logits = net.logits[owner]
                margin = net.reward(chosen, logits) - net.reward(rejected, logits)
                loss = bt_loss(margin, mask)
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
                if step % 100 == 0 or step == p.steps:
                    curve.append(curve_point(step, loss.item(), float((margin > 0).float().mean())))
        sha = save_module(net, self.workdir / "pal.pt")
        population = net.logits.detach().mean(0)
        return {"weights": "pal.pt", "sha256": sha, "dim": chosen.shape[1], "n_users": len(data),
                "population_logits": population.tolist(), "unseen_users": unseen,
                "embedder": self.models.model.embedder, "n_pairs": len(chosen), "curve": curve}

    def restore(self, shared: State) -> None:
        super().restore(shared)
        p = self.params
        net = PALNet(shared["dim"], p.space, p.prototypes, shared["n_users"], p.f_layers)
        self.net = load_module(net, self.workdir / shared["weights"], shared["sha256"]).requires_grad_(False)
        self.population = torch.tensor([shared["population_logits"]], dtype=torch.float32)
        self.unseen = set(shared.get("unseen_users", ()))

    def fit(self, user: UserData) -> State:
        """The user's K mixture logits from their own train+val pairs (MAP under `mixture_prior`); f and the
        prototypes stay frozen. The population's mixture for a user with no pairs."""
        seen = user.user_id not in self.unseen
        if not user.known:
            return {"logits": self.population[0].tolist(), "n_pairs": 0, "seen_in_training": seen}
        chosen, rejected = (torch.from_numpy(a) for a in embed_pairs(self.models, user.known))
        with one_thread():
            logits = fit_mixture(self.net, chosen, rejected, self.population, self.params.mixture_prior,
                                 self.params.fit_iterations)
        return {"logits": logits[0].tolist(), "mixture": torch.softmax(logits[0], -1).tolist(),
                "n_pairs": len(user.known), "seen_in_training": seen}

    def judge(self, items: Sequence[JudgeItem], state: State) -> list[Judgment]:
        start = time.perf_counter()
        first, second = (torch.from_numpy(a) for a in embed_items(self.models, items))
        logits = torch.tensor([state["logits"]], dtype=torch.float32).expand(len(items), -1)
        with torch.no_grad(), one_thread():
            margins = (self.net.reward(first, logits) - self.net.reward(second, logits)).numpy()
        return judgments(margins, start)
