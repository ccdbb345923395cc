"""What the learned personalized reward models (VPL, PAL, GPO) share: frozen embeddings of
(conversation, response), seeded episode sampling and the
meta-training loop over it (GPO, VPL), weights bound to the run that trained them, the
judgments a per-user reward gives, and the label their runs carry.

The representation of one response in its conversation (`embed_responses`):
- `model.embedder=hidden_last` / `hidden_mean` (the papers' input): the chat model's final hidden state of
  the conversation + response, chat-formatted by the model's own template, read as ONE sequence (last token,
  or mean over tokens), as VPL (WEIRDLabUW/vpl_llm `hidden_context/data_utils/data_processing.py`,
  `generate_embeddings_with_llm`: the last hidden layer at the last token of prompt + response), GPO
  (jamqd/Group-Preference-Optimization `baselines/get_emb/get_embeds.py`: the mean of the last hidden layer
  of question + option) and PAL (RamyaLab/pluralistic-alignment `src/pal_rm_a/itemLearner.py`: the LLM's
  last hidden state of prompt + response) do. Vectors are unit-normalised (the papers' are raw).
- MiniLM (`model.embedder=minilm`, the CPU default): a sentence encoder cut at 256 tokens cannot read a
  conversation and a long answer as one text, so a row is [embedding of the conversation, mean embedding of
  the response's paragraphs].

Not a method (registers nothing): `baselines/vpl.py`, `pal.py` and `gpo.py` build on it.
"""

from __future__ import annotations

import hashlib
import io
import time
from collections.abc import Callable, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np
import torch
from scipy.special import expit

from benchmark.errors import RunError
from benchmark.methods import UserData
from benchmark.models import Models
from benchmark.models.embeddings import HIDDEN_POOLING
from benchmark.records import Cost, JudgeItem, Judgment, Message, PreferencePair


def conversation_text(context: Sequence[Message]) -> str:
    return "\n\n".join(f"{m.role}: {m.content}" for m in context)


def embed_responses(models: Models, contexts: Sequence[Sequence[Message]], responses: Sequence[str]) -> np.ndarray:
    """One row per response (float32). A chat model's hidden states (`encode_conversations`): the
    conversation + response as one chat-formatted sequence. MiniLM: [embedding of the conversation, mean
    embedding of the response's paragraphs] (style cues carry a paragraph's weight, long answers are not cut
    at the encoder's token limit)."""
    embedder = models.embedder()
    if hasattr(embedder, "encode_conversations"):
        chats = [(*c, Message("assistant", r)) for c, r in zip(contexts, responses)]
        return embedder.encode_conversations(chats).astype(np.float32)
    prompt = embedder.encode([conversation_text(c) for c in contexts])
    return np.hstack([prompt, embedder.encode_paragraphs(list(responses))]).astype(np.float32)


def embedding_label(models: Models) -> str:
    """What a run of an embedding-based method is labelled with: the chat model's label when its hidden
    states are the representation (so the run meets the published rows of that LLM), else the sentence
    encoder's name (`minilm`)."""
    if models.model.embedder in HIDDEN_POOLING:
        return "mock" if models.backend.kind == "mock" else models.model.name
    return models.model.embedder


def embed_pairs(models: Models, pairs: Sequence[PreferencePair]) -> tuple[np.ndarray, np.ndarray]:
    """(chosen, rejected) representations, one row per pair."""
    contexts = [p.context for p in pairs]
    return (embed_responses(models, contexts, [p.chosen for p in pairs]),
            embed_responses(models, contexts, [p.rejected for p in pairs]))


def embed_items(models: Models, items: Sequence[JudgeItem]) -> tuple[np.ndarray, np.ndarray]:
    """(first, second) representations, one row per item."""
    contexts = [i.context for i in items]
    return (embed_responses(models, contexts, [i.first for i in items]),
            embed_responses(models, contexts, [i.second for i in items]))


@dataclass
class UserPairs:
    user_id: str
    chosen: torch.Tensor    # (n, D)
    rejected: torch.Tensor  # (n, D)

    def __len__(self) -> int:
        return len(self.chosen)


def user_pairs(models: Models, users: Sequence[UserData]) -> list[UserPairs]:
    out = []
    for user in users:
        c, r = embed_pairs(models, user.known)
        out.append(UserPairs(user.user_id, torch.from_numpy(c), torch.from_numpy(r)))
    return out


@dataclass
class Episodes:
    """A batch of users, each split into context pairs (what the user showed us) and target pairs (what
    the model must predict). Padded to the largest user; masks mark real rows."""

    ctx_chosen: torch.Tensor    # (B, C, D)
    ctx_rejected: torch.Tensor  # (B, C, D)
    ctx_mask: torch.Tensor      # (B, C) bool
    tgt_chosen: torch.Tensor    # (B, T, D)
    tgt_rejected: torch.Tensor  # (B, T, D)
    tgt_mask: torch.Tensor      # (B, T) bool
    index: np.ndarray           # (B,) which users


def pad(rows: list[torch.Tensor], width: int) -> tuple[torch.Tensor, torch.Tensor]:
    dim = rows[0].shape[-1]
    out = torch.zeros(len(rows), width, dim)
    mask = torch.zeros(len(rows), width, dtype=torch.bool)
    for i, r in enumerate(rows):
        out[i, :len(r)] = r
        mask[i, :len(r)] = True
    return out, mask


def sample_episodes(users: Sequence[UserPairs], rng: np.random.Generator, batch_users: int, max_context: int,
                    max_target: int) -> Episodes:
    """Each user's pairs shuffled and cut at a random point: 1..n-1 context pairs (at most `max_context`),
    the rest (at most `max_target`) are targets, so the models learn from contexts of every size."""
    eligible = [i for i, u in enumerate(users) if len(u) >= 2]
    index = rng.choice(eligible, size=min(batch_users, len(eligible)), replace=False)
    ctx, tgt = [], []
    for i in index:
        u = users[i]
        order = torch.from_numpy(rng.permutation(len(u)))
        n_ctx = int(rng.integers(1, min(len(u) - 1, max_context) + 1))
        c, t = order[:n_ctx], order[n_ctx:n_ctx + max_target]
        ctx.append((u.chosen[c], u.rejected[c]))
        tgt.append((u.chosen[t], u.rejected[t]))
    width_c, width_t = max(len(c[0]) for c in ctx), max(len(t[0]) for t in tgt)
    cc, cmask = pad([c[0] for c in ctx], width_c)
    cr, _ = pad([c[1] for c in ctx], width_c)
    tc, tmask = pad([t[0] for t in tgt], width_t)
    tr, _ = pad([t[1] for t in tgt], width_t)
    return Episodes(cc, cr, cmask, tc, tr, tmask, index)


class EpisodeSizes(Protocol):
    """The settings of `train_on_episodes` (fields of GPO's and VPL's Params)."""

    steps: int
    batch_users: int
    max_context: int
    max_target: int


def train_on_episodes(net: torch.nn.Module, users: Sequence[UserPairs], rng: np.random.Generator,
                      optimizer: torch.optim.Optimizer, schedule: torch.optim.lr_scheduler.LRScheduler,
                      sizes: EpisodeSizes, step_loss: Callable[[int, Episodes], tuple[torch.Tensor, torch.Tensor]],
                      ) -> list[dict[str, float]]:
    """The meta-training loop GPO and VPL share, on one thread: each step samples episodes, `step_loss(step,
    batch)` (step from 1) gives the loss and the target pairs' margins, and one optimizer and schedule step
    follows. Returns the training curve: loss and target accuracy, means over each 100 steps."""
    curve, window = [], []
    net.train()
    with one_thread():
        for step in range(1, sizes.steps + 1):
            batch = sample_episodes(users, rng, sizes.batch_users, sizes.max_context, sizes.max_target)
            loss, margin = step_loss(step, batch)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            schedule.step()
            right = ((margin > 0) & batch.tgt_mask).sum() / batch.tgt_mask.sum()
            window.append((loss.item(), float(right)))
            if step % 100 == 0 or step == sizes.steps:
                curve.append(curve_point(step, *np.mean(window, axis=0)))
                window = []
    net.eval()
    return curve


@contextmanager
def one_thread():
    """Train and score on one CPU thread: results do not depend on the core count, and on a loaded
    machine with few cores one thread runs these small models much faster than several."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def seed_torch(seed: int) -> torch.Generator:
    """Seeded CPU training: the same config and thread count retrain to the same weights (the ops used
    here have deterministic CPU kernels, so no process-wide torch flag is set)."""
    torch.manual_seed(seed)
    return torch.Generator().manual_seed(seed)


def save_module(module: torch.nn.Module, path: Path) -> str:
    """Write the weights; returns their sha256, which the state keeps so a reload can be checked."""
    buffer = io.BytesIO()
    torch.save(module.state_dict(), buffer)
    data = buffer.getvalue()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return hashlib.sha256(data).hexdigest()


def load_module(module: torch.nn.Module, path: Path, sha256: str) -> torch.nn.Module:
    """Reload weights a setup saved, refusing files that are missing or are not the ones it wrote."""
    if not path.exists():
        raise RunError(f"{path}: the trained weights this run's fit/_shared.json refers to are missing; "
                       f"start a new run (another run_name=)")
    data = path.read_bytes()
    if hashlib.sha256(data).hexdigest() != sha256:
        raise RunError(f"{path}: the weights changed since this run trained them (sha256 differs from "
                       f"fit/_shared.json); start a new run (another run_name=)")
    module.load_state_dict(torch.load(io.BytesIO(data), weights_only=True))
    return module.eval()


def bt_loss(margin: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean Bradley-Terry negative log-likelihood of the chosen response over the real rows."""
    return -(torch.nn.functional.logsigmoid(margin) * mask).sum() / mask.sum().clamp(min=1)


def judgments(margins: np.ndarray, start: float) -> list[Judgment]:
    """Verdicts from reward(first) - reward(second); cost is the wall time per item."""
    cost = Cost(seconds=(time.perf_counter() - start) / max(len(margins), 1))
    return [Judgment("first" if m > 0 else "second" if m < 0 else "tie", float(expit(m)), cost=cost,
                     margin=float(m)) for m in margins]


def curve_point(step: int, loss: float, accuracy: float) -> dict[str, float]:
    """One point of a training curve, kept in the shared state (evidence when a method does not learn)."""
    return {"step": step, "loss": round(float(loss), 4), "target_accuracy": round(float(accuracy), 4)}
