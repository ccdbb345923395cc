"""GPO (baselines/gpo.py): the paper's sizes and attention mask by default, targets never attend to each
other (a target's score does not depend on the other targets in its batch); learns a planted per-user taste
(at the smaller CPU size), reloads to identical scores, resumes without retraining (the last on the demo with
real MiniLM embeddings)."""

import pytest
import torch

from tests.baselines.planted import (
    DIM,
    build,
    check_learns_planted_taste,
    check_real_run_resumes_without_retraining,
    check_reload_is_identical,
)

SMALL = {"width": 32, "feedforward": 64, "layers": 2, "encoder_depth": 2}  # configs/method/gpo_small.yaml


def test_the_defaults_are_the_papers_sizes(tmp_path):
    """jamqd/Group-Preference-Optimization configs/gpo.yaml: d_model 128, emb_depth 4, dim_feedforward 128,
    nhead 4, dropout 0, num_layers 6."""
    net = build("gpo", tmp_path)._net(DIM)
    assert len(net.transformer.layers) == 6
    layer = net.transformer.layers[0]
    assert layer.self_attn.embed_dim == 128 and layer.self_attn.num_heads == 4
    assert layer.linear1.out_features == 128 and layer.dropout.p == 0.0
    linears = [m for m in net.embedder if isinstance(m, torch.nn.Linear)]
    assert len(linears) == 4 and linears[0].in_features == DIM + 1  # a point is (x, y)


def test_a_targets_score_does_not_depend_on_the_other_targets(tmp_path):
    """Targets attend to the context only: scored alone, with others, or in another order, a target gets the
    same score (the paper's non-autoregressive mask)."""
    torch.manual_seed(0)
    net = build("gpo", tmp_path)._net(DIM).eval()
    chosen, rejected = torch.randn(1, 5, DIM), torch.randn(1, 5, DIM)
    context = net.context_tokens(chosen, rejected)
    mask = torch.ones(context.shape[:2], dtype=torch.bool)
    targets = torch.randn(1, 6, DIM)
    with torch.no_grad():
        together = net.rewards(context, mask, targets)[0]
        alone = torch.stack([net.rewards(context, mask, targets[:, i:i + 1])[0, 0] for i in range(6)])
        reversed_ = net.rewards(context, mask, targets.flip(1))[0].flip(0)
        other_context = net.rewards(net.context_tokens(rejected, chosen), mask, targets)[0]
    assert torch.allclose(together, alone, atol=1e-5) and torch.allclose(together, reversed_, atol=1e-5)
    assert not torch.allclose(together, other_context, atol=1e-3)  # ... but it does depend on the context


def test_learns_a_planted_per_user_taste(tmp_path):
    """Half the users like the planted trait, half dislike it: a global model is at chance on those pairs.
    Meta-learning needs users: 64 of them, at the CPU size (at 24 it memorises the training users' pairs)."""
    assert check_learns_planted_taste("gpo", tmp_path, n_users=64, steps=300, lr=1e-3, **SMALL) > 0.8


def test_a_fitted_model_reloads_to_identical_scores(tmp_path):
    check_reload_is_identical("gpo", tmp_path, steps=20, **SMALL)


@pytest.mark.slow
def test_real_minilm_run_resumes_without_retraining(tmp_path, monkeypatch):
    check_real_run_resumes_without_retraining("gpo_small", tmp_path, monkeypatch, "++method.params.steps=30")


def test_runs_are_labelled_with_the_llm_whose_hidden_states_they_read():
    """Reference rows join on the LLM's name: hidden_* runs carry the chat model's label, MiniLM runs `minilm`."""
    from types import SimpleNamespace

    from baselines.embedded_pairs import embedding_label

    def models(embedder, kind="transformers"):
        return SimpleNamespace(model=SimpleNamespace(name="meta-llama/Llama-3.1-8B-Instruct", embedder=embedder),
                               backend=SimpleNamespace(kind=kind))

    assert embedding_label(models("hidden_last")) == "meta-llama/Llama-3.1-8B-Instruct"
    assert embedding_label(models("hidden_mean")) == "meta-llama/Llama-3.1-8B-Instruct"
    assert embedding_label(models("minilm")) == "minilm"


@pytest.mark.slow
def test_a_run_on_smollm2_hidden_states_is_labelled_smollm2(tmp_path):
    """`prbench method=gpo_small model.embedder=hidden_last backend=transformers` on two demo users (their first
    6 pairs, to stay small on CPU): trained on SmolLM2's hidden states of conversation + response (its width,
    576), the row carries `smollm2`."""
    import json

    from benchmark.runner.run import run
    from tests.conftest import ROOT, make_config

    demo, data = ROOT / "benchmark" / "data" / "demo", tmp_path / "data"
    data.mkdir()
    users = [json.loads(line) for line in (demo / "users.jsonl").read_text().splitlines()][:2]
    keep = {u["user_id"] for u in users}
    pairs, count = [], {}
    for row in map(json.loads, (demo / "pairs.jsonl").read_text().splitlines()):
        if row["user_id"] in keep and count.setdefault(row["user_id"], 0) < 6:
            count[row["user_id"]] += 1
            pairs.append(row)
    (data / "users.jsonl").write_text("".join(json.dumps(u) + "\n" for u in users))
    (data / "pairs.jsonl").write_text("".join(json.dumps(p) + "\n" for p in pairs))
    cfg = make_config("logger=none", "method=gpo_small", "model.embedder=hidden_last", "backend=transformers",
                      f"data.path={data}", "++method.params.steps=5", f"results_dir={tmp_path}",
                      f"cache.path={tmp_path}/cache.sqlite")
    result = run(cfg, tmp_path / "run")
    assert result.summary["model"] == "smollm2" and result.summary["failures"] == 0
    assert result.summary["n_users"] == 2
    shared = json.loads((tmp_path / "run" / "fit" / "_shared.json").read_text())["state"]
    assert shared["dim"] == 576 and shared["embedder"] == "hidden_last"
