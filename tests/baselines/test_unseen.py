"""Users never seen in training (baselines/unseen.py): a seeded set, the same for every method and training
seed, kept out of the global fit of every method that trains across users."""

from tests.baselines.planted import build, planted_users


def test_the_held_out_users_are_seeded_and_do_not_depend_on_order_or_method():
    from baselines.unseen import unseen_user_ids

    ids = [f"u{i}" for i in range(30)]
    chosen = unseen_user_ids(ids, 1 / 3, 0)
    assert len(chosen) == 10 and chosen == unseen_user_ids(ids[::-1], 1 / 3, 0)
    assert chosen != unseen_user_ids(ids, 1 / 3, 1) and unseen_user_ids(ids, 0.0, 0) == []


def test_the_embedding_reward_model_fits_globally_without_them(tmp_path):
    users, _ = planted_users(n_users=10)
    for variant in ("global", "personal", "user_features"):
        method = build("reward_model", tmp_path, variant=variant, unseen_fraction=0.5)
        shared = method.setup(users)
        unseen = set(shared["unseen_users"])
        assert len(unseen) == 5
        assert shared["n_pairs"] == sum(len(u.known) for u in users if u.user_id not in unseen)
    every = build("reward_model", tmp_path).setup(users)
    assert "unseen_users" not in every and every["n_pairs"] == sum(len(u.known) for u in users)
