"""A scripted chat model's replies and how to read a SynthesizeMe run's fits (shared by several test modules)."""

import json


def smart(chat):
    """Reasons, then answers for the longer response: right for some users, wrong for others."""
    text = chat[-1].content
    if text.startswith("Below are a user's past choices"):
        return "This user likes thorough answers."
    a, b = text.split("## Response A\n")[-1].split("## Response B\n")
    return "Longer is better. Answer: " + ("A" if len(a) > len(b.split("## Question")[0]) else "B")


def states(folder):
    """Each demo user's persisted SynthesizeMe fit in a run folder."""
    return {p.name: json.loads(p.read_text())["state"] for p in (folder / "fit").glob("demo_user_*.json")}
