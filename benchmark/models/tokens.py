"""Prompt encoding shared by the local backends (transformers, vLLM) and the chat-message wire format."""

from __future__ import annotations

from collections.abc import Sequence

from benchmark.models.base import Chat


def chat_dicts(chat: Chat) -> list[dict[str, str]]:
    return [{"role": m.role, "content": m.content} for m in chat]


def encode_chat(tokenizer, chat: Chat) -> list[int]:
    """Token ids of the chat through the model's own chat template, ending with the assistant prompt."""
    return list(tokenizer.apply_chat_template(chat_dicts(chat), add_generation_prompt=True, tokenize=True,
                                              return_dict=True)["input_ids"])


def encode_conversation(tokenizer, chat: Chat) -> list[int]:
    """Token ids of a finished conversation (ending with the assistant turn), as a reward model reads it."""
    return list(tokenizer.apply_chat_template(chat_dicts(chat), tokenize=True, return_dict=True)["input_ids"])


def single_token_ids(tokenizer, choices: Sequence[str]) -> list[int]:
    """The token id of each choice; refuses choices that are not one distinct token each."""
    ids = [tokenizer.encode(c, add_special_tokens=False) for c in choices]
    if any(len(i) != 1 for i in ids) or len({i[0] for i in ids}) != len(ids):
        raise ValueError(f"choices {list(choices)} must each be one distinct token for this tokenizer")
    return [i[0] for i in ids]


def too_long(n_tokens: int, limit: int) -> str:
    return f"prompt has {n_tokens} tokens, over max_prompt_tokens={limit}"
