"""The user's description: sources, placement, and SynthesizeMe prompts read back from a run folder."""

import json

import pytest

from benchmark.errors import ConfigError, DataError
from benchmark.methods import UserData
from benchmark.records import Message, PreferencePair, UserProfile
from benchmark.runs import state_path
from benchmark.toolkit.user_context import UserContext, about_user, with_about


def user(n_train=3, **profile) -> UserData:
    pairs = tuple(PreferencePair(f"p{i}", "u/1", (Message("user", f"q{i}"),), f"good {i}", f"bad {i}",
                                 meta={"row": i}) for i in range(n_train + 1))
    return UserData("u/1", pairs[:n_train], pairs[n_train:], UserProfile("u/1", **profile))


def save_fit(run_dir, state, kind="synthesizeme"):
    (run_dir / "config.yaml").write_text(f"method:\n  kind: {kind}\n")
    path = state_path(run_dir / "fit", "u/1")
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps({"state": state, "seconds": 1.0}))
    return path


def test_sources():
    u = user(stated="I like short answers.", demographics={"age": "25-34"})
    assert about_user(UserContext(), u) is None
    assert about_user(UserContext(source="stated"), u) == "I like short answers."
    assert about_user(UserContext(source="demographics"), u) == "- age: 25-34"
    memory = about_user(UserContext(source="memory", k=2), u)
    assert "Request: q3" in memory and "Request: q2" in memory and "q1" not in memory  # the 2 most recent
    with pytest.raises(DataError, match="needs a ground-truth persona"):
        about_user(UserContext(source="oracle"), u)


def test_synthesizeme_prompt_is_read_from_the_run_folder(tmp_path):
    save_fit(tmp_path, {"about_user": "Likes lists.", "demos": [{"pair_id": "p1"}], "bootstrapped": 3})
    ctx = UserContext(source="synthesizeme", synthesizeme_run=str(tmp_path))
    assert about_user(ctx, user()) == "Likes lists."


def test_synthesizeme_fit_from_another_split_is_refused(tmp_path):
    path = save_fit(tmp_path, {"about_user": "x", "demos": [{"pair_id": "p3"}], "bootstrapped": 3})  # p3 is val here
    with pytest.raises(DataError, match="another split") as error:
        about_user(UserContext(source="synthesizeme", synthesizeme_run=str(tmp_path)), user())
    assert str(path) in str(error.value)


def test_missing_synthesizeme_fit_names_the_file(tmp_path):
    with pytest.raises(DataError, match="run method=synthesizeme") as error:
        about_user(UserContext(source="synthesizeme", synthesizeme_run=str(tmp_path)), user())
    assert str(state_path(tmp_path / "fit", "u/1")) in str(error.value)


def test_placement():
    context = (Message("system", "Be brief."), Message("user", "Hi"), Message("assistant", "Hello"),
               Message("user", "Bye"))
    system = with_about(context, "Likes lists.", "system")
    assert system[0] == Message("system", "About this user:\nLikes lists.\n\nBe brief.") and system[1:] == context[1:]
    pre = with_about(context, "Likes lists.", "preamble")
    assert pre[1] == Message("user", "About this user:\nLikes lists.\n\nHi") and pre[2:] == context[2:]
    assert with_about(context[1:], "x", "system")[0] == Message("system", "About this user:\nx")
    assert with_about(context, None, "system") == context


def test_a_run_of_a_method_that_learns_no_text_is_refused(tmp_path):
    """The method of the run named reads its own fit state (Method.fitted_about_user); `plain` has none to give."""
    save_fit(tmp_path, {"about_user": "Likes lists."}, kind="plain")
    with pytest.raises(ConfigError, match="PlainJudge learns no text about a user"):
        about_user(UserContext(source="synthesizeme", synthesizeme_run=str(tmp_path)), user())
