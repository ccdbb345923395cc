"""namkoong-lab/PersonalLLM -> simulated users, their preference pairs, and their ground-truth weights.

Follows the paper and the authors' code (docs/schemas/personalllm.md): each row is a prompt with eight responses
(`response_1` .. `response_8`), each scored by ten reward models (`response_<i>_<model>`); a simulated user is a
weighting w ~ Dirichlet(alpha) over the reward models and their reward for a response is w . (scores), the
scores z-scored per model with the authors' means and sds (`PersonalLLM/eval/constants.py`;
`normalize=authors`, as in their `gen_pref_interaction_database.py`); a user's comparison picks the response
with the larger reward (`label=argmax`, their `chosen = a if reward_1 > reward_2 else b`). `alpha` defaults to
0.05, the paper notebooks' value (`PersonalLLM/paper/notebooks/alpha_comp.ipynb`, `Args.alpha`; the database
scripts default to 0.01); `pairs_per_user` to 25-49, the range of their `randint(25, 50)` histories.

prbench choices (options in configs/data/personalllm.yaml):
- each user draws distinct (prompt, response, response) comparisons from all 8 responses (the authors'
  database script drew from `arange(1, 8)`, never response 8); pairs of identical texts are never drawn
  (counted once per prompt);
- `label=bradley_terry` draws the label instead: P(i preferred) = sigmoid((r_i - r_j) / temperature);
- an exact tie under `argmax` is dropped and counted;
- user k's randomness is numpy's default_rng([seed, k]): adding users keeps the earlier ones unchanged;
- the weights are the user's `persona_truth`, which only an oracle method (`reads_oracle`) ever sees.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Literal

import numpy as np
from pydantic import Field, model_validator

from benchmark.builders.counts import BuildReport
from benchmark.config import Section
from benchmark.errors import DataError
from benchmark.records import Message, PreferencePair, UserProfile

# PersonalLLM/eval/constants.py (namkoong-lab/PersonalLLM): each reward model's score mean and sd.
REWARD_MODELS = {
    "llama3_sfairx": (1.0637639780044557, 2.953017385451928),
    "mistral_weqweasdas": (7.071075622558594, 2.578636650248985),
    "mistral_ray": (3.0136284782886507, 1.6902981149232585),
    "gemma_7b": (1.6259730467796325, 2.6096741570264976),
    "mistral_raft": (8.309211883544922, 3.0728436748484533),
    "gemma_2b": (4.3304170169830325, 2.038611338958803),
    "oasst_deberta_v3": (2.8976835689097644, 1.7207868789061331),
    "oasst_pythia_1b": (4.293944010734558, 2.3018268820938133),
    "oasst_pythia_7b": (4.706351243972779, 1.3659142113789966),
    "beaver_7b": (6.233516894340515, 3.012641148973965),
}
RESPONSES = 8


class PersonalLLMOptions(Section):
    n_users: int = Field(100, ge=1)
    pairs_per_user: tuple[int, int] = (25, 49)  # inclusive range, drawn per user
    alpha: float = Field(0.05, gt=0)            # Dirichlet concentration over the reward models
    reward_models: list[str] = sorted(REWARD_MODELS)
    normalize: Literal["authors", "none"] = "authors"
    label: Literal["argmax", "bradley_terry"] = "argmax"
    temperature: float = Field(1.0, gt=0)       # bradley_terry only
    seed: int = 0
    on_bad_row: Literal["error", "skip"] = "error"

    @model_validator(mode="after")
    def _check(self) -> PersonalLLMOptions:
        low, high = self.pairs_per_user
        if not 1 <= low <= high:
            raise ValueError("pairs_per_user must be [low, high] with 1 <= low <= high")
        unknown = sorted(set(self.reward_models) - set(REWARD_MODELS))
        if unknown or not self.reward_models or len(set(self.reward_models)) != len(self.reward_models):
            raise ValueError(f"reward_models must be distinct names from {sorted(REWARD_MODELS)} (unknown: {unknown})")
        return self


def _prompt(row: Mapping, where: dict, models: list[str]) -> tuple[str, list[str], np.ndarray]:
    """A row's prompt, its responses and their [response, model] scores; DataError names a bad field."""
    def text(field: str) -> str:
        if field not in row:
            raise DataError("missing column", **where, field=field)
        value = row[field]
        if not isinstance(value, str) or not value.strip():
            raise DataError(f"expected non-empty text, got {value!r}"[:200], **where, field=field)
        return value

    prompt = text("prompt")
    responses = [text(f"response_{i}") for i in range(1, RESPONSES + 1)]
    scores = np.empty((RESPONSES, len(models)))
    for i in range(RESPONSES):
        for m, model in enumerate(models):
            field = f"response_{i + 1}_{model}"
            if field not in row:
                raise DataError("missing column", **where, field=field)
            value = row[field]
            if hasattr(value, "item"):
                value = value.item()
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
                raise DataError(f"score must be a finite number, got {value!r}", **where, field=field)
            scores[i, m] = value
    return prompt, responses, scores


def persona_text(weights: np.ndarray, models: list[str], opts: PersonalLLMOptions) -> str:
    listed = ", ".join(f"{model} {w:.6f}" for model, w in zip(models, weights))
    return (f"Simulated PersonalLLM user: their reward for a response is the weighted sum of {len(models)} reward "
            f"models' scores (normalize={opts.normalize}), weights drawn from Dirichlet(alpha={opts.alpha}); "
            f"label={opts.label}. Weights: {listed}.")


def personalllm_pairs(rows: Iterable[Mapping], opts: PersonalLLMOptions, source: str
                      ) -> tuple[list[PreferencePair], dict[str, UserProfile], BuildReport]:
    report, models = BuildReport(), list(opts.reward_models)
    prompts, texts, scores, row_numbers = [], [], [], []
    for index, row in enumerate(rows, 1):  # rows are 1-based in messages
        report.rows += 1
        try:
            prompt, responses, row_scores = _prompt(row, {"source": source, "row": index}, models)
        except DataError as error:
            report.bad_row(error, opts.on_bad_row)
            continue
        subset, prompt_id = row.get("subset"), row.get("prompt_id")
        prompts.append((prompt, prompt_id.item() if hasattr(prompt_id, "item") else prompt_id,
                        subset if isinstance(subset, str) else ""))
        texts.append(responses)
        scores.append(row_scores)
        row_numbers.append(index)
    if not prompts:
        raise DataError("no usable prompt rows", source=source)
    scores = np.stack(scores)
    if opts.normalize == "authors":
        mean, sd = np.array([REWARD_MODELS[m] for m in models]).T
        scores = (scores - mean) / sd
    pool = []  # every (prompt, i, j) comparison a user may draw
    for p, responses in enumerate(texts):
        for i in range(RESPONSES):
            for j in range(i + 1, RESPONSES):
                if responses[i] == responses[j]:
                    report.drop("identical response pair (never drawn)")
                else:
                    pool.append((p, i, j))
    width = len(str(opts.n_users - 1))
    pairs, profiles = [], {}
    for k in range(opts.n_users):
        user = f"plm_user_{k:0{width}d}"
        rng = np.random.default_rng([opts.seed, k])
        weights = rng.dirichlet([opts.alpha] * len(models))
        n = int(rng.integers(opts.pairs_per_user[0], opts.pairs_per_user[1] + 1))
        if n > len(pool):
            raise DataError(f"a user needs {n} distinct comparisons but the prompts give only {len(pool)} "
                            f"(lower data.options.pairs_per_user)", source=source)
        profiles[user] = UserProfile(user, persona_truth=persona_text(weights, models, opts))
        for draw in rng.choice(len(pool), size=n, replace=False):
            p, i, j = pool[draw]
            r_i, r_j = float(scores[p, i] @ weights), float(scores[p, j] @ weights)
            if opts.label == "argmax":
                if r_i == r_j:
                    report.drop("tie in the user's reward (label=argmax)")
                    continue
                first_wins = r_i > r_j
            else:
                gap = max(min((r_i - r_j) / opts.temperature, 700.0), -700.0)
                first_wins = bool(rng.random() < 1 / (1 + math.exp(-gap)))
            (c, r_c), (o, r_o) = ((i, r_i), (j, r_j)) if first_wins else ((j, r_j), (i, r_i))
            prompt, prompt_id, subset = prompts[p]
            pairs.append(PreferencePair(
                f"{user}-row{row_numbers[p]}-r{c + 1}-r{o + 1}", user, (Message("user", prompt),), texts[p][c],
                texts[p][o], None, "personalllm",
                {"conversation_id": f"row{row_numbers[p]}", "prompt_id": prompt_id, "type": subset, "turns": 1,
                 "chosen_response": c + 1, "rejected_response": o + 1, "chosen_score": r_c, "rejected_score": r_o}))
    report.pairs = len(pairs)
    return pairs, profiles, report
