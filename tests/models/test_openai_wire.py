"""Request and response bodies of the openai backend: orjson, and what only json handles."""

import json
import math

import orjson
import pytest

from benchmark.config import parse_section
from benchmark.models.base import Message
from benchmark.models.layer import RetryPolicy
from benchmark.models.openai_backend import OpenAIChat, OpenAIConfig, dumps, loads
from benchmark.models.stand_in import StandInServer

LONE_SURROGATE = "caf\ud83d"  # half an emoji, as json.loads gives it from dataset text


def test_bodies_are_orjson_and_a_lone_surrogate_is_sent_escaped():
    body = {"messages": [{"role": "user", "content": "héllo"}], "max_tokens": 1}
    assert dumps(body) == orjson.dumps(body)
    odd = {"messages": [{"role": "user", "content": LONE_SURROGATE}]}
    assert json.loads(dumps(odd)) == odd


def test_responses_in_python_json_dialect_are_read():
    assert loads(b'{"logprob": -Infinity}')["logprob"] == -math.inf
    with pytest.raises(ValueError):
        loads(b'{"choices": [')


def test_a_lone_surrogate_in_a_prompt_is_judged_not_a_crash():
    server = StandInServer(choice_s=0.01, generate_s=0.01).start()
    cfg = parse_section(OpenAIConfig, {"kind": "openai", "base_url": server.url}, "backend")
    chat = OpenAIChat("stand-in", cfg, RetryPolicy(max_attempts=1))
    try:
        [result] = chat.choice_logprobs([[Message("user", f"Which is better? {LONE_SURROGATE}")]], ["A", "B"])
    finally:
        chat.close()
    assert result.error is None and set(result.logprobs) == {"A", "B"}
