"""Generate the bundled demo benchmark: synthetic users with known preferences.

Each user has a weight vector over seven observable response traits and a persona that says the same
thing in words. Users have a long-tailed number of pairs (log-normal, median 25, 5 to 100, like
PRISM's), so per-user learning curves and micro vs macro accuracy mean something.
Responses to a prompt are assembled so every trait is visible in the text; a pair's label is drawn
from a Bradley-Terry model of the user's weights. A fifth of each user's pairs pit a helpful response
against an unhelpful one (everyone agrees); the rest differ only in style traits (users disagree).

    python scripts/make_demo.py            # rewrites benchmark/data/demo/{pairs,users}.jsonl
    python scripts/make_demo.py --out DIR  # writes elsewhere (the tests check it is reproducible)
"""

from __future__ import annotations

import argparse
import json
import math
import random
from pathlib import Path
from statistics import NormalDist

SEED = 20250125
N_USERS, MIN_PAIRS, MAX_PAIRS, MEDIAN_PAIRS, SPREAD = 60, 5, 100, 25, 0.7
AGREED_SHARE = 0.2  # pairs pitting a helpful answer against an unhelpful one (everyone agrees)
QUALITY_WEIGHT = 4.0

# trait -> (phrase when the user likes it, phrase when the user dislikes it)
TRAITS: dict[str, tuple[str, str]] = {
    "length": ("likes long, thorough answers", "wants short answers and loses patience with long ones"),
    "bullets": ("likes bullet-point lists", "prefers flowing prose over bullet lists"),
    "formality": ("prefers a formal, polite tone", "prefers a casual, chatty tone"),
    "examples": ("likes concrete examples", "finds examples unnecessary"),
    "hedging": ("appreciates caveats and careful hedging", "dislikes hedging and disclaimers"),
    "humour": ("enjoys a bit of humour", "wants no jokes, strictly serious"),
    "directness": ("wants the answer stated first", "likes answers that build up to the point"),
}
TRAIT_NAMES = list(TRAITS)

TOPICS = [
    ("How do I keep basil alive indoors?", "give it sun, drain well and pinch the tops",
     ["Place it where it gets six hours of direct sun.", "Water when the top inch of soil is dry.",
      "Use a pot with drainage holes.", "Pinch off flower buds to keep leaves coming."],
     "a south-facing kitchen window usually works well", "Basil is the only roommate that thrives on neglect and pesto."),
    ("What is a good way to start running?", "begin with run-walk intervals three times a week",
     ["Alternate one minute running with two minutes walking.", "Run three times a week with rest days between.",
      "Increase total time by about ten percent a week.", "Buy shoes that fit well rather than fashionable ones."],
     "the Couch-to-5K plan builds up over nine weeks", "The hardest part of running is the front door."),
    ("How can I save money on groceries?", "plan meals, shop with a list and buy staples in bulk",
     ["Plan the week's meals before shopping.", "Shop with a list and stick to it.",
      "Buy rice, beans and oats in bulk.", "Compare unit prices rather than package prices."],
     "a 5 kg bag of rice costs far less per meal than instant noodles", "My wallet does cardio every time I enter a supermarket."),
    ("How do I learn a new language quickly?", "practise daily and speak from the first week",
     ["Study a little every day instead of cramming.", "Speak with native speakers early.",
      "Learn the most frequent thousand words first.", "Use spaced-repetition flashcards."],
     "ten minutes of flashcards on the bus adds up to sixty hours a year", "Learning French is easy, said no one with a grammar book."),
    ("How should I prepare for a job interview?", "research the company and rehearse stories about your work",
     ["Research the company's products and recent news.", "Prepare short stories that show your skills.",
      "Practise answers out loud.", "Prepare two or three questions for the interviewer."],
     "the STAR format (situation, task, action, result) structures answers", "Interviews are like first dates, but with more spreadsheets."),
    ("How do I make better coffee at home?", "use fresh beans, grind just before brewing and weigh them",
     ["Buy whole beans roasted within the last month.", "Grind right before brewing.",
      "Use about 60 grams of coffee per litre of water.", "Keep water just below boiling."],
     "a simple pour-over with a burr grinder beats most capsule machines", "Decaf is just coffee with its spirit removed."),
    ("What is the best way to back up my photos?", "keep three copies on two kinds of media, one off-site",
     ["Keep at least three copies of important photos.", "Store them on two different kinds of media.",
      "Keep one copy off-site or in the cloud.", "Test restoring a few files every few months."],
     "an external drive at home plus a cloud service covers most people", "There are two kinds of people: those who back up and those who will."),
    ("How can I sleep better?", "keep a fixed schedule and a dark, cool bedroom",
     ["Go to bed and wake up at the same time daily.", "Keep the bedroom dark, quiet and cool.",
      "Avoid caffeine after early afternoon.", "Put screens away an hour before bed."],
     "a fixed 7 a.m. alarm, even on weekends, resets your body clock", "I'm great at sleeping; I can do it with my eyes closed."),
    ("How do I write a good cover letter?", "tailor it to the job and show one or two concrete achievements",
     ["Address it to a real person when possible.", "Tailor every letter to the specific job.",
      "Highlight one or two concrete achievements.", "Keep it under one page."],
     "'I cut support response times by 30%' beats 'I am a hard worker'", "Dear Sir or Madam, I am writing to express my deep love of salaries."),
    ("How do I start investing with little money?", "use a low-cost index fund and invest regularly",
     ["Build a small emergency fund first.", "Choose a low-cost broad index fund.",
      "Invest a fixed amount every month.", "Avoid frequent trading and high fees."],
     "investing 50 a month in a world index fund is a common starting point", "The stock market is the only store where people run away from a sale."),
    ("How can I be more productive working from home?", "set fixed hours and a dedicated workspace",
     ["Keep fixed working hours.", "Work from a dedicated space, not the sofa.",
      "Plan the day's three most important tasks.", "Take short breaks away from the screen."],
     "a 25-minute focus timer with 5-minute breaks keeps many people on track", "My commute is now ten steps, and I'm still late."),
    ("How do I make my houseplants grow faster?", "give them more light, feed them in spring and repot when rootbound",
     ["Move them closer to a bright window.", "Feed with diluted fertiliser during the growing season.",
      "Repot when roots circle the pot.", "Wipe dust off the leaves."],
     "a pothos moved from a hallway to a windowsill can double its growth", "My plants grow faster when I'm on holiday, which says a lot about me."),
    ("What should I pack for a weekend hiking trip?", "pack layers, water, food, a map and a first-aid kit",
     ["Bring layers for changing weather.", "Carry enough water and some snacks.",
      "Take a paper map as well as your phone.", "Pack a small first-aid kit."],
     "a fleece, a rain shell and a spare pair of socks cover most conditions", "I packed light once; now I know what hypothermia feels like."),
    ("How do I get better at public speaking?", "practise out loud and record yourself",
     ["Rehearse the talk out loud several times.", "Record yourself and watch it back.",
      "Slow down and pause between points.", "Start with small audiences."],
     "a local Toastmasters club gives weekly low-stakes practice", "The brain starts working at birth and stops when you stand up to speak."),
    ("How can I reduce my screen time?", "turn off notifications and set app limits",
     ["Turn off non-essential notifications.", "Set daily limits for distracting apps.",
      "Keep the phone out of the bedroom.", "Replace scrolling with a specific hobby."],
     "moving social apps off the home screen cuts idle checking", "I reduced my screen time by buying a bigger screen."),
    ("How do I bake a simple loaf of bread?", "mix flour, water, salt and yeast, let it rise, then bake hot",
     ["Mix 500 g flour, 350 g water, 10 g salt and 7 g yeast.", "Knead or fold until smooth.",
      "Let it rise until doubled.", "Bake at 230 C for about 35 minutes."],
     "a no-knead dough left overnight gives a crusty loaf", "I tried a bread pun once, but it was too crummy."),
    ("How can I improve my credit score?", "pay on time and keep balances low",
     ["Pay every bill on time.", "Keep card balances below a third of the limit.",
      "Avoid opening many new accounts at once.", "Check your report for errors."],
     "setting up automatic minimum payments prevents late marks", "My credit score and my bowling score are suspiciously similar."),
    ("What's a good way to learn to code?", "pick one language and build small projects",
     ["Pick one beginner-friendly language, such as Python.", "Build small projects you care about.",
      "Read other people's code.", "Practise a little every day."],
     "a script that renames your photos by date is a great first project", "There are 10 kinds of people: those who understand binary and those who don't."),
    ("How do I deal with a difficult coworker?", "talk to them privately and focus on specific behaviour",
     ["Raise the issue privately and calmly.", "Describe specific behaviour, not personality.",
      "Listen to their side.", "Involve a manager only if it persists."],
     "'when the report arrives late, I miss my deadline' is better than 'you're unreliable'", "Some coworkers are like clouds: when they leave, it's a bright day."),
    ("How do I choose a good laptop?", "decide your main use, then prioritise RAM, storage and battery",
     ["Decide what you mainly use it for.", "Get at least 16 GB of RAM.",
      "Prefer an SSD of 512 GB or more.", "Check real-world battery reviews."],
     "for students, a light machine with long battery life matters most", "My laptop has two modes: fan noise and louder fan noise."),
    ("How do I keep my kitchen knives sharp?", "hone often, sharpen occasionally and store them safely",
     ["Hone the edge with a steel before use.", "Sharpen on a whetstone a few times a year.",
      "Use wooden or plastic cutting boards.", "Hand-wash and dry them right away."],
     "a 1000-grit whetstone restores most dull kitchen knives", "A dull knife is the sharpest way to lose a fingertip."),
    ("How can I make new friends as an adult?", "join recurring activities and follow up with people",
     ["Join a club or class that meets regularly.", "Say yes to invitations.",
      "Follow up with people you click with.", "Be patient: friendships take time."],
     "a weekly climbing session turns familiar faces into friends", "Making friends as an adult is like dating, but with more board games."),
    ("How do I stop procrastinating?", "break tasks into tiny steps and start for just five minutes",
     ["Break big tasks into tiny first steps.", "Commit to working for only five minutes.",
      "Remove distractions before starting.", "Reward yourself after finishing."],
     "'write one paragraph' is easier to start than 'write the report'", "I'll tell you my procrastination joke later."),
    ("How do I clean a cast iron pan?", "rinse with hot water, dry fully and oil it lightly",
     ["Rinse with hot water while the pan is warm.", "Scrub stuck food with coarse salt.",
      "Dry it completely on the stove.", "Rub in a thin layer of oil."],
     "a tablespoon of salt and a paper towel remove most residue", "Cast iron pans are heavy so you can use them as a gym on the side."),
    ("How can I reduce stress?", "exercise, sleep enough and make time for people you like",
     ["Exercise regularly, even short walks.", "Protect your sleep.",
      "Spend time with supportive people.", "Try a few minutes of slow breathing."],
     "a ten-minute walk at lunch lowers stress for many people", "I tried to relax, but I got stressed about doing it wrong."),
    ("How do I plan a budget?", "track spending for a month, then assign every income a job",
     ["Track all spending for one month.", "List fixed costs first.",
      "Set targets for variable spending.", "Automate savings on payday."],
     "the 50/30/20 rule splits needs, wants and savings", "A budget tells your money where to go instead of wondering where it went."),
    ("How do I get rid of fruit flies?", "remove ripe fruit and set a vinegar trap",
     ["Remove overripe fruit and empty the bin.", "Rinse recycling before storing it.",
      "Set a trap of cider vinegar with a drop of soap.", "Clean drains with boiling water."],
     "a jar of cider vinegar covered with pierced cling film catches dozens", "Fruit flies: the only guests who arrive for the bananas and stay for the bins."),
    ("How can I write clearer emails?", "lead with the request and keep it short",
     ["Put the request in the first sentence.", "Use a specific subject line.",
      "Keep paragraphs short.", "End with a clear next step."],
     "'Can you approve the budget by Friday?' works better than a long preamble", "Per my last email is the politest threat known to humankind."),
    ("How do I train my dog to come when called?", "reward every recall generously and practise in easy places first",
     ["Start indoors with few distractions.", "Reward every successful recall with a treat.",
      "Never punish the dog when it comes back.", "Gradually practise in busier places."],
     "a long training lead lets you practise recall safely in a park", "My dog comes when called, as long as the call is 'dinner'."),
    ("How do I prepare for a marathon?", "follow a 16-to-20-week plan that builds long runs gradually",
     ["Follow a structured plan of 16 to 20 weeks.", "Build the weekly long run gradually.",
      "Practise eating and drinking on long runs.", "Taper for two to three weeks before race day."],
     "a plan that peaks with a 32 km long run three weeks out is typical", "I'm training for a marathon; so far I've mastered the carb loading."),
]
BAD_ANSWERS = [
    "Hmm, hard to say. It depends on a lot of things, really. Maybe look it up somewhere.",
    "I am not able to help with that. Perhaps try asking someone else.",
    "Interesting question. There are many opinions about it and no single answer.",
    "That is a topic people discuss a lot. You could search online for more.",
]


def render(topic: tuple, t: dict[str, int]) -> str:
    """Write a response to `topic` whose style shows every trait in `t` (0 or 1)."""
    prompt, answer, points, example, joke = topic
    points = points if t["length"] else points[:2]
    parts: list[str] = []
    parts.append("Thank you for your question." if t["formality"] else "Hey, good one!")
    if t["directness"]:
        parts.append(f"In short: {answer}.")
    else:
        parts.append("There are a few things worth thinking about here before getting to the answer.")
    if t["bullets"]:
        parts.append("\n".join(f"- {p}" for p in points))
    else:
        joined = " ".join(p if i == 0 else "Also, " + p[0].lower() + p[1:] for i, p in enumerate(points))
        parts.append(joined)
    if t["length"]:
        parts.append("Each of these steps matters, and together they make a noticeable difference "
                     "over a few weeks of consistent effort.")
    if t["examples"]:
        parts.append(f"For example, {example}.")
    if t["hedging"]:
        parts.append("That said, this can vary with your circumstances, so please double-check "
                     "before relying on it.")
    if t["humour"]:
        parts.append(f"{joke} 😄")
    if not t["directness"]:
        parts.append(f"So, putting it all together: {answer}.")
    parts.append("I trust this is helpful." if t["formality"] else "Hope that helps!")
    return "\n\n".join(parts)


def make_user(index: int, rng: random.Random) -> dict:
    strong = rng.sample(TRAIT_NAMES, rng.choice([3, 4]))
    weights = {}
    for name in TRAIT_NAMES:
        if name in strong:
            weights[name] = round(rng.choice([-1, 1]) * rng.uniform(2.0, 3.0), 3)
        else:
            weights[name] = round(rng.uniform(-0.3, 0.3), 3)
    likes = [TRAITS[n][0] if weights[n] > 0 else TRAITS[n][1] for n in strong]
    persona = "This user " + "; ".join(likes[:-1]) + f"; and {likes[-1]}. Above all, they want a helpful answer."
    return {"user_id": f"demo_user_{index:02d}", "persona_truth": persona, "weights": weights}


def utility(weights: dict[str, float], traits: dict[str, int], good: bool) -> float:
    return sum(weights[n] * (2 * traits[n] - 1) for n in TRAIT_NAMES) + (QUALITY_WEIGHT if good else 0.0)


def pair_counts(rng: random.Random) -> list[int]:
    """Pairs per user: quantiles of a log-normal (median MEDIAN_PAIRS) clipped to [MIN_PAIRS, MAX_PAIRS],
    dealt to users in a seeded order (1,865 pairs in all)."""
    quantiles = [NormalDist(math.log(MEDIAN_PAIRS), SPREAD).inv_cdf((i + 0.5) / N_USERS) for i in range(N_USERS)]
    counts = [max(MIN_PAIRS, min(MAX_PAIRS, round(math.exp(q)))) for q in quantiles]
    rng.shuffle(counts)
    return counts


def make_pairs(user: dict, n_pairs: int, rng: random.Random) -> list[dict]:
    pairs = []
    topic_ids = rng.sample(range(len(TOPICS)), min(n_pairs, len(TOPICS)))
    topic_ids += rng.choices(range(len(TOPICS)), k=n_pairs - len(topic_ids))  # repeats beyond 30 pairs
    n_agreed = max(1, round(AGREED_SHARE * n_pairs))
    for k, topic_id in enumerate(topic_ids):
        topic = TOPICS[topic_id]
        ta = {n: rng.randint(0, 1) for n in TRAIT_NAMES}
        tb = dict(ta)
        agreed = k < n_agreed
        for name in rng.sample(TRAIT_NAMES, 1 if agreed else rng.choice([1, 2])):
            tb[name] = 1 - tb[name]
        good_b = not agreed
        text_a, text_b = render(topic, ta), render(topic, tb)
        if not good_b:
            text_b = rng.choice(BAD_ANSWERS)
        margin = utility(user["weights"], ta, True) - utility(user["weights"], tb, good_b)
        a_wins = rng.random() < 1.0 / (1.0 + math.exp(-margin))
        chosen, rejected = (text_a, text_b) if a_wins else (text_b, text_a)
        pairs.append({
            "pair_id": f"{user['user_id']}-p{k:02d}",
            "user_id": user["user_id"],
            "context": [{"role": "user", "content": topic[0]}],
            "chosen": chosen,
            "rejected": rejected,
            "kind": "agreed" if agreed else "disagreed",
            "p_chosen": round(1.0 / (1.0 + math.exp(-margin if a_wins else margin)), 4),
        })
    rng.shuffle(pairs)
    return pairs


def generate() -> tuple[list[dict], list[dict]]:
    rng = random.Random(SEED)
    users = [make_user(i, rng) for i in range(N_USERS)]
    counts = pair_counts(rng)
    pairs = [pair for user, n in zip(users, counts) for pair in make_pairs(user, n, rng)]
    return users, pairs


def write_jsonl(path: Path, rows: list[dict]) -> None:
    with path.open("w", encoding="utf-8") as f:
        for row in rows:
            f.write(json.dumps(row, ensure_ascii=False, sort_keys=True) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    default_out = Path(__file__).resolve().parents[1] / "benchmark" / "data" / "demo"
    parser.add_argument("--out", type=Path, default=default_out, help="output folder")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    users, pairs = generate()
    write_jsonl(args.out / "users.jsonl", users)
    write_jsonl(args.out / "pairs.jsonl", pairs)
    print(f"wrote {len(users)} users and {len(pairs)} pairs to {args.out}")


if __name__ == "__main__":
    main()
