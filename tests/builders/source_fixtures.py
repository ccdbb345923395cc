"""Raw rows in the schemas of docs/schemas/ (community_alignment, personalllm, tldr_comparisons), small enough to
count by hand. The expected counts live in the tests, written from these rows."""

import csv
from collections import Counter
from pathlib import Path

from benchmark.builders.personalllm import REWARD_MODELS

# ---- Community Alignment: one CSV row per conversation -------------------------------------------------------

TURNS = ("first", "second", "third", "fourth")
CA_COLUMNS = (["conversation_id", "assigned_lang", "annotator_id", "is_pregenerated_first_prompt", "in_balanced_subset",
               "in_balanced_subset_10", "annotator_age", "annotator_gender", "annotator_education_level",
               "annotator_political", "annotator_ethnicity", "annotator_country"]
              + [f"{t}_turn_{part}" for t in TURNS
                 for part in ("prompt", "response_a", "response_b", "response_c", "response_d", "preferred_response",
                              "feedback")])
ANNOTATORS = {  # annotator -> (age, gender, education, political, ethnicity, country)
    "ann_1": ("18-34", "female", "Some post-secondary", "Somewhat left-leaning", "White", "United States"),
    "ann_2": ("35-45", "male", "Post-secondary graduate", "Middle-of-the-road, centrist", "Non immigrant", "France"),
    "ann_3": ("46-54", "female", "(At most) Complete Secondary", "Prefer not to say", "White", "United States"),
    "ann_4": ("55+", "male", "Some or complete graduate degree", "Very right-leaning", "Indo-Aryan", "India"),
}


def per_user(pairs) -> dict[str, int]:
    """How many pairs each user has."""
    return dict(Counter(p.user_id for p in pairs))


def turn(prompt, preferred, a="", b="", c="", d="", feedback=""):
    """One turn's cells; an empty string is an empty cell (as the release writes a missing value)."""
    return {"prompt": prompt, "response_a": a, "response_b": b, "response_c": c, "response_d": d,
            "preferred_response": preferred, "feedback": feedback}


def four(tag):
    return {k: f"{tag} answer {k}." for k in "abcd"}


def ca_row(cid, annotator, turns, *, lang="en", pregenerated=True, balanced=True):
    age, gender, education, political, ethnicity, country = ANNOTATORS[annotator]
    row = {"conversation_id": cid, "assigned_lang": lang, "annotator_id": annotator,
           "is_pregenerated_first_prompt": str(pregenerated), "in_balanced_subset": str(balanced),
           "in_balanced_subset_10": "False", "annotator_age": age, "annotator_gender": gender,
           "annotator_education_level": education, "annotator_political": political,
           "annotator_ethnicity": ethnicity, "annotator_country": country}
    for name, cells in zip(TURNS, turns):
        row.update({f"{name}_turn_{k}": v for k, v in (cells or {}).items()})
    return {c: row.get(c, "") for c in CA_COLUMNS}


def ca_rows():
    return [
        # row 1, ann_1: two full turns -> 3 + 3 pairs
        ca_row("c1", "ann_1", [turn("Is it rude to recline my seat on a plane?", "response_b", **four("c1t0"),
                                    feedback="B was balanced."),
                               turn("And on a night flight?", "response_c", **four("c1t1"))]),
        # row 2, ann_1: response_d empty -> 2 pairs, 1 missing candidate
        ca_row("c2", "ann_1", [turn("Should I tip at a buffet?", "response_a", a="c2 answer a.", b="c2 answer b.",
                                    c="c2 answer c.", d="")]),
        # row 3, ann_2: turn 1 -> 3 pairs; turn 2: response_c equals the preferred a -> 2 pairs, 1 identical;
        # no third prompt but a fourth one -> 1 turn after a missing turn
        ca_row("c3", "ann_2", [turn("Faut-il laisser un pourboire ?", "response_d", **four("c3t0")),
                               turn("Et au café ?", "response_a", a="Oui, un peu.", b="Non.", c="Oui, un peu.",
                                    d="Jamais."),
                               None,
                               turn("Et en Italie ?", "response_b", **four("c3t3"))], lang="fr"),
        # row 4, ann_2: one turn -> 3 pairs (not in the balanced subset)
        ca_row("c4", "ann_2", [turn("Quel vin avec du poisson ?", "response_a", **four("c4t0"))], lang="fr",
               balanced=False),
        # row 5, ann_3: a prompt with no preference -> 0 pairs, 1 turn without a preference
        ca_row("c5", "ann_3", [turn("Is homework useful?", "", **four("c5t0"))], balanced=False),
        # row 6, ann_3: one turn -> 3 pairs (ann_3 ends with 3 pairs: below min_pairs 5)
        ca_row("c6", "ann_3", [turn("Are cats better than dogs?", "response_c", **four("c6t0"))]),
        # row 7, ann_4: one turn -> 3 pairs, opened with the annotator's own prompt
        ca_row("c7", "ann_4", [turn("Kya chai sehat ke liye achhi hai?", "response_b", **four("c7t0"))], lang="hi",
               pregenerated=False),
        # row 8, ann_4: one turn -> 3 pairs (not in the balanced subset)
        ca_row("c8", "ann_4", [turn("Shaadi mein kitna kharch karna chahiye?", "response_d", **four("c8t0"))],
               lang="hi", balanced=False),
    ]


def write_csv(path: Path, rows, columns=CA_COLUMNS) -> Path:
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=list(columns))
        writer.writeheader()
        writer.writerows(rows)
    return path


# ---- PersonalLLM: one row per prompt, 8 responses, 10 reward-model scores each -----------------------------

def plm_row(prompt_id, *, score=None, responses=None, subset="anthropic"):
    """`score(i, model)` gives response i's (1-based) score; by default every model ranks by response number."""
    score = score or (lambda i, model: 10.0 * i)
    row = {"prompt": f"Prompt {prompt_id}: what should I cook tonight?", "subset": subset, "prompt_id": prompt_id}
    for i in range(1, 9):
        row[f"response_{i}"] = (responses or {}).get(i, f"Prompt {prompt_id}, response {i}.")
        row[f"response_{i}_model"] = "openai/gpt-4o"
        for model in sorted(REWARD_MODELS):
            row[f"response_{i}_{model}"] = score(i, model)
    return row


def plm_rows():
    rows = [plm_row(p) for p in range(6)]
    rows[2] = plm_row(2, responses={7: "Same text.", 8: "Same text."})  # 1 identical pair, never drawn
    return rows


def plm_disagreeing_rows():
    """Reward models that disagree: model m prefers response i by ((i * (m + 3)) % 8)."""
    models = sorted(REWARD_MODELS)
    return [plm_row(p, score=lambda i, model, p=p: float((i * (models.index(model) + 3) + p) % 8) + 0.01 * i)
            for p in range(6)]


# ---- TL;DR comparisons: one row per worker comparison -------------------------------------------------------

def post(pid, subreddit="relationships"):
    return {"id": pid, "post": f"Post {pid}: my roommate keeps eating my food. What do I do?",
            "title": f"Title {pid}", "subreddit": subreddit, "site": None, "article": None}


def comparison(pid, worker, choice, *, texts=None, confidence=7, split="train", batch="batch9", info=None):
    a, b = texts or (f" {pid} summary one by {worker}.", f" {pid} summary two by {worker}.")
    return {"info": info or post(pid), "summaries": [{"text": a, "policy": "sup4_ppo_rm3_kl10", "note": None},
                                                     {"text": b, "policy": "ref", "note": "Unclear."}],
            "choice": choice, "worker": worker, "batch": batch, "split": split,
            "extra": {"confidence": confidence}}


def tldr_rows():
    rows = [comparison(f"t3_w1p{i}", "worker_1", i % 2, confidence=3 if i == 2 else 7,
                       split="valid2" if i == 5 else "train") for i in range(6)]          # rows 1-6: 6 pairs
    rows += [comparison(f"t3_w2p{i}", "worker_2", (i + 1) % 2) for i in range(5)]         # rows 7-11: 5 pairs
    rows.append(comparison("t3_w2p0", "worker_2", 1,                                      # row 12: a repeat
                           texts=(" t3_w2p0 summary two by worker_2.", " t3_w2p0 summary one by worker_2.")))
    rows.append(comparison("cnn0", "worker_2", 0, info={"id": "cnn0", "post": None, "title": None, "subreddit": None,
                                                        "site": "dailymail", "article": "The club said on Monday..."}))
    rows.append(comparison("t3_w2p5", "worker_2", 0, confidence=None))                    # row 14: 1 pair
    rows.append(comparison("t3_w3p0", "worker_3", 0, texts=(" Same.", "Same. ")))         # row 15: identical
    rows.append(comparison("t3_w3p1", "worker_3", 1))                                     # row 16: 1 pair
    return rows
