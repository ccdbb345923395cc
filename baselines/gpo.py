"""GPO: Group Preference Optimization (Zhao et al., "Group Preference Optimization: Few-Shot Alignment of
Large Language Models", ICLR 2024), one user as the group, on frozen (conversation, response) embeddings.

Follows the paper:
- a transformer reads a context set of (embedding, preference) points from one user and predicts that
  user's preference for new target points in-context, with no gradient step per user;
- targets attend to the context (and themselves) but not to each other, as in the paper's masked
  transformer, so a prediction does not depend on which other targets share the batch;
- meta-training splits each training user's pairs at random into context and target every step.

Differs, and why:
- the paper's points are (question + option) embeddings with a group's answer distribution; here a
  context token is one labelled pair, [x_chosen, x_rejected] (the preference is the order), and a
  target token is one response x, whose output is a scalar reward; P(first preferred) =
  sigmoid(r(first) - r(second)), so verdicts are order-consistent by construction;
- the paper used the LLM's embeddings; MiniLM on CPU by default (`model.embedder=hidden_last` for a
  chat model's hidden states on a GPU box);
- a learned null context token is always present, so a user with no pairs gets the population reward.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

import numpy as np
import torch
from pydantic import Field
from torch import nn

from baselines.embedded_pairs import (Episodes, bt_loss, curve_point, embed_items, embed_pairs, judgments,
                                      load_module, one_thread, sample_episodes, save_module, seed_torch,
                                      user_pairs)
from benchmark.config import Section
from benchmark.methods import Method, State, UserData, register_method
from benchmark.records import JudgeItem, Judgment


class GPONet(nn.Module):
    def __init__(self, dim: int, width: int, heads: int, layers: int, dropout: float = 0.0):
        super().__init__()
        self.response = nn.Linear(dim, width)
        self.pair = nn.Linear(2 * width, width)
        self.null = nn.Parameter(torch.zeros(1, 1, width))
        layer = nn.TransformerEncoderLayer(width, heads, 2 * width, dropout=dropout, batch_first=True)
        self.transformer = nn.TransformerEncoder(layer, layers, enable_nested_tensor=False)
        self.head = nn.Linear(width, 1)

    def context_tokens(self, chosen: torch.Tensor, rejected: torch.Tensor) -> torch.Tensor:
        return self.pair(torch.cat([self.response(chosen), self.response(rejected)], dim=-1))

    def rewards(self, context: torch.Tensor, ctx_mask: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        """(B, C, W) context tokens, (B, C) mask, (B, T, D) responses -> (B, T) rewards."""
        batch, n_ctx, n_tgt = context.shape[0], context.shape[1] + 1, targets.shape[1]
        tokens = torch.cat([self.null.expand(batch, -1, -1), context, self.response(targets)], dim=1)
        padding = torch.cat([torch.zeros(batch, 1, dtype=torch.bool), ~ctx_mask,
                             torch.zeros(batch, n_tgt, dtype=torch.bool)], dim=1)
        size = n_ctx + n_tgt
        blocked = torch.zeros(size, size, dtype=torch.bool)
        blocked[:, n_ctx:] = True                      # nobody attends to a target ...
        blocked[range(n_ctx, size), range(n_ctx, size)] = False  # ... except the target itself
        out = self.transformer(tokens, mask=blocked, src_key_padding_mask=padding)
        return self.head(out[:, n_ctx:]).squeeze(-1)


@register_method("gpo")
class GroupPreferenceOptimization(Method):
    class Params(Section):
        width: int = Field(32, ge=4)
        heads: int = Field(4, ge=1)
        layers: int = Field(2, ge=1)
        steps: int = Field(300, ge=1, description="meta-training steps")
        batch_users: int = Field(16, ge=1)
        max_context: int = Field(64, ge=1)
        max_target: int = Field(16, ge=1)
        lr: float = Field(1e-3, gt=0)
        weight_decay: float = Field(0.1, ge=0)
        dropout: float = Field(0.2, ge=0, lt=1, description="in the transformer, while meta-training")
        seed: int = 0

    @property
    def model_label(self) -> str:
        return self.models.model.embedder

    def _net(self, dim: int) -> GPONet:
        p = self.params
        return GPONet(dim, p.width, p.heads, p.layers, p.dropout)

    def setup(self, users: Sequence[UserData]) -> State:
        p = self.params
        seed_torch(p.seed)
        rng = np.random.default_rng(p.seed)
        data = user_pairs(self.models, users)
        dim = data[0].chosen.shape[1]
        net = self._net(dim)
        optimizer = torch.optim.AdamW(net.parameters(), lr=p.lr, weight_decay=p.weight_decay)
        curve, window = [], []
        net.train()
        with one_thread():
            for step in range(1, p.steps + 1):
                batch = sample_episodes(data, rng, p.batch_users, p.max_context, p.max_target)
                margin = self._margins(net, batch)
                loss = bt_loss(margin, batch.tgt_mask)
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
                window.append((loss.item(), float(((margin > 0) & batch.tgt_mask).sum() / batch.tgt_mask.sum())))
                if step % 100 == 0 or step == p.steps:
                    curve.append(curve_point(step, *np.mean(window, axis=0)))
                    window = []
        sha = save_module(net, self.workdir / "gpo.pt")
        return {"weights": "gpo.pt", "sha256": sha, "dim": dim, "embedder": self.models.model.embedder,
                "n_users": len(data), "n_pairs": sum(len(u) for u in data), "curve": curve}

    @staticmethod
    def _margins(net: GPONet, batch: Episodes) -> torch.Tensor:
        context = net.context_tokens(batch.ctx_chosen, batch.ctx_rejected)
        targets = torch.cat([batch.tgt_chosen, batch.tgt_rejected], dim=1)
        rewards = net.rewards(context, batch.ctx_mask, targets)
        n = batch.tgt_chosen.shape[1]
        return rewards[:, :n] - rewards[:, n:]

    def restore(self, shared: State) -> None:
        super().restore(shared)
        self.net = load_module(self._net(shared["dim"]), self.workdir / shared["weights"], shared["sha256"])

    def fit(self, user: UserData) -> State:
        """The user's context set: their train+val pairs as context tokens (no gradient step)."""
        if not user.known:
            return {"context": [], "n_pairs": 0}
        chosen, rejected = (torch.from_numpy(a).unsqueeze(0) for a in embed_pairs(self.models, user.known))
        with torch.no_grad(), one_thread():
            tokens = self.net.context_tokens(chosen, rejected)[0]
        return {"context": tokens.tolist(), "n_pairs": len(user.known)}

    def judge(self, items: Sequence[JudgeItem], state: State) -> list[Judgment]:
        start = time.perf_counter()
        first, second = embed_items(self.models, items)
        context = torch.tensor(state["context"], dtype=torch.float32).reshape(1, -1, self.params.width)
        mask = torch.ones(context.shape[:2], dtype=torch.bool)
        with torch.no_grad(), one_thread():
            rewards = self.net.rewards(context, mask, torch.from_numpy(np.vstack([first, second])).unsqueeze(0))[0]
        n = len(items)
        return judgments((rewards[:n] - rewards[n:]).numpy(), start)
