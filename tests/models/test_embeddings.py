"""Embedders through the model layer: vectors cached like answers; a chat model's pooled hidden states."""

import numpy as np
import pytest

from benchmark.models import Models
from benchmark.models.embeddings import HiddenStateEmbedder
from benchmark.models.layer import RequestCache

TEXTS = ["Short answer.", "A much longer answer, with several clauses and a friendly tone!", "Short answer."]


@pytest.mark.slow
@pytest.mark.parametrize("pooling", ["mean", "last"])
def test_smollm2_hidden_states_pooled_and_cached(tmp_path, pooling, monkeypatch):
    cache = RequestCache(tmp_path / "cache.sqlite")
    embedder = HiddenStateEmbedder("smollm2", pooling, cache=cache)
    vectors = embedder.encode(TEXTS)
    assert vectors.shape == (3, embedder.dim) and np.allclose(np.linalg.norm(vectors, axis=1), 1, atol=1e-5)
    assert np.array_equal(vectors[0], vectors[2]) and not np.allclose(vectors[0], vectors[1])
    # padding must not leak into the pooled vector: a text alone equals the text in a padded batch
    assert np.allclose(embedder._compute([TEXTS[0]])[0], vectors[0], atol=1e-4)
    again = HiddenStateEmbedder("smollm2", pooling, cache=RequestCache(tmp_path / "cache.sqlite"))
    monkeypatch.setattr(again, "_compute", lambda texts: pytest.fail(f"recomputed {texts}"))
    assert np.array_equal(again.encode(TEXTS), vectors)


@pytest.mark.slow
def test_models_embedder_option_picks_hidden_states_and_minilm_is_cached(tmp_path, monkeypatch):
    cache = {"path": str(tmp_path / "c.sqlite")}
    hidden = Models({"kind": "transformers"}, {"name": "smollm2", "embedder": "hidden_last"}, cache).embedder()
    assert isinstance(hidden, HiddenStateEmbedder) and hidden.name.endswith(":last")
    minilm = Models({"kind": "transformers"}, {"name": "smollm2"}, cache).embedder()
    first = minilm.encode(["a cached text"])
    minilm._cache.clear()
    monkeypatch.setattr(minilm, "_compute", lambda texts: pytest.fail(f"recomputed {texts}"))
    assert np.array_equal(minilm.encode(["a cached text"]), first)


@pytest.mark.slow
def test_smollm2_reads_conversation_and_response_as_one_chat_formatted_sequence(tmp_path, monkeypatch):
    """What the learned personalized RMs read with model.embedder=hidden_last: SmolLM2's final hidden state at
    the last token of the chat-formatted conversation + response (the reward models' encoding), batched and
    cached."""
    import torch

    from benchmark.models.tokens import encode_conversation
    from benchmark.records import Message

    embedder = HiddenStateEmbedder("smollm2", "last", cache=RequestCache(tmp_path / "cache.sqlite"))
    ask = Message("user", "What is 2+2?")
    chats = [(ask, Message("assistant", "4.")),
             (ask, Message("assistant", "Four, because two and two make four.")),
             (Message("user", "Name a colour."), Message("assistant", "4."))]
    vectors = embedder.encode_conversations(chats)
    assert vectors.shape == (3, embedder.dim) and np.allclose(np.linalg.norm(vectors, axis=1), 1, atol=1e-5)
    # one sequence: both the response and the conversation change the vector
    assert not np.allclose(vectors[0], vectors[1], atol=1e-3) and not np.allclose(vectors[0], vectors[2], atol=1e-3)
    # the model's own last hidden state at the last token of the chat template's token ids, computed apart
    ids = encode_conversation(embedder.tokenizer, chats[1])
    with torch.no_grad():
        hidden = embedder.model(input_ids=torch.tensor([ids])).last_hidden_state[0, -1].float()
    assert np.allclose(vectors[1], (hidden / hidden.norm()).numpy(), atol=1e-4)
    # padding does not leak: alone equals in a padded batch
    assert np.allclose(embedder._compute_chats([embedder.chat_text(chats[0])])[0], vectors[0], atol=1e-4)
    again = HiddenStateEmbedder("smollm2", "last", cache=RequestCache(tmp_path / "cache.sqlite"))
    monkeypatch.setattr(again, "_forward", lambda ids: pytest.fail("recomputed a cached conversation"))
    assert np.array_equal(again.encode_conversations(chats), vectors)
