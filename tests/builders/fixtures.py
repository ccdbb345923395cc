"""Raw rows written in the exact schemas of shared/schemas/ (chatbot_arena_conversations, prism_alignment)."""

MODERATION_KEYS = ["harassment", "harassment/threatening", "hate", "hate/threatening", "self-harm",
                   "self-harm/instructions", "self-harm/intent", "sexual", "sexual/minors", "violence",
                   "violence/graphic"]


def arena_row(qid, judge, winner, *, prompt="What is a good name for a cat?", a="You could call it Pepper.",
              b="Some ideas: Miso, Luna, or Biscuit.", turns=None, anony=True, language="English", flagged=False):
    conv_a = turns[0] if turns else [{"content": prompt, "role": "user"}, {"content": a, "role": "assistant"}]
    conv_b = turns[1] if turns else [{"content": prompt, "role": "user"}, {"content": b, "role": "assistant"}]
    return {"question_id": qid, "model_a": "vicuna-13b", "model_b": "koala-13b", "winner": winner, "judge": judge,
            "conversation_a": conv_a, "conversation_b": conv_b, "turn": len(conv_a) // 2, "anony": anony,
            "language": language, "tstamp": 1683000000.5,
            "openai_moderation": {"categories": {k: False for k in MODERATION_KEYS},
                                  "category_scores": {k: 0.0 for k in MODERATION_KEYS}, "flagged": flagged},
            "toxic_chat_tag": {"roberta-large": {"flagged": False, "probability": 0.01},
                               "t5-large": {"flagged": False, "score": 0.02}}}


def arena_rows():
    rows = []
    for i in range(6):  # arena_user_1: six clean battles, alternating winners
        rows.append(arena_row(f"q1-{i}", "arena_user_1", "model_a" if i % 2 == 0 else "model_b",
                              prompt=f"Question {i}?", a=f"Answer A{i}.", b=f"Answer B{i}."))
    rows += [
        arena_row("q2-0", "arena_user_2", "tie"),
        arena_row("q2-1", "arena_user_2", "tie (bothbad)"),
        arena_row("q2-2", "arena_user_2", "model_a", anony=False),
        arena_row("q2-3", "arena_user_2", "model_b", language="German"),
        arena_row("q2-4", "arena_user_2", "model_a", flagged=True),
        arena_row("q2-5", "arena_user_2", "model_b", turns=(
            [{"content": "Hi", "role": "user"}, {"content": "Hello!", "role": "assistant"},
             {"content": "Tell me a joke", "role": "user"}, {"content": "Why did the chicken...", "role": "assistant"}],
            [{"content": "Hi", "role": "user"}, {"content": "Hey there.", "role": "assistant"},
             {"content": "Tell me a joke", "role": "user"}, {"content": "Knock knock.", "role": "assistant"}])),
    ]
    return rows


def model_turn(turn, content, score, chosen, wid, name="gpt-4"):
    return {"turn": turn, "role": "model", "content": content, "model_name": name, "model_provider": "openai",
            "score": score, "if_chosen": chosen, "within_turn_id": wid}


def prism_conversation(cid, user, history, ctype="unguided"):
    attrs = {k: None for k in ("values", "fluency", "factuality", "safety", "diversity", "creativity", "helpfulness")}
    return {"conversation_id": cid, "user_id": user, "conversation_type": ctype,
            "opening_prompt": history[0]["content"], "conversation_turns": 1 + max(h["turn"] for h in history),
            "conversation_history": history, "performance_attributes": attrs, "choice_attributes": attrs,
            "open_feedback": "Fine.", "generated_datetime": "2023-12-01 10:00:00", "timing_duration_s": 300.5,
            "timing_duration_mins": 5.01, "included_in_balanced_subset": True}


def prism_conversations():
    return [
        prism_conversation("c10", "user7", [
            {"turn": 0, "role": "user", "content": "What is a good name for a cat?"},
            model_turn(0, "Try Miso.", 80, True, 0), model_turn(0, "Luna.", 35, False, 1, "command"),
            model_turn(0, "Cats are animals.", 10, False, 2, "claude-2.1"), model_turn(0, "Rex.", 79, False, 3),
            {"turn": 1, "role": "user", "content": "And for a black cat?"},
            model_turn(1, "Pepper.", 70, True, 0), model_turn(1, "Shadow.", 60, False, 1)]),
        prism_conversation("c11", "user7", [
            {"turn": 0, "role": "user", "content": "Should I learn Rust?"},
            model_turn(0, "Yes, if you like systems work.", 90, True, 0), model_turn(0, "No.", 20, False, 1)],
            "values guided"),
    ]


def survey_row(user, age="25-34 years old", self_description="I value honesty.", country="United Kingdom"):
    return {"user_id": user, "survey_only": False, "num_completed_conversations": 2, "age": age, "gender": "Female",
            "education": "University Bachelors Degree", "employment_status": "Working full-time",
            "marital_status": "Never been married", "english_proficiency": "Native speaker",
            "lm_familiarity": "Very familiar", "lm_frequency_use": "Every week",
            "stated_prefs": {"values": 80, "creativity": 40, "fluency": 70, "factuality": 95, "diversity": 30,
                             "safety": 60, "personalisation": 50, "helpfulness": 90, "other": None, "other_text": None},
            "self_description": self_description, "system_string": "Be brief.",
            "religion": {"self_described": "none", "categorised": "No Affiliation", "simplified": "No Affiliation"},
            "ethnicity": {"self_described": "white", "categorised": "White", "simplified": "White"},
            "location": {"birth_country": country, "reside_country": country, "same_birth_reside_country": "Yes"}}
