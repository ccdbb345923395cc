"""The test helpers themselves: a missing optional module skips locally but fails under CI=true."""

import pytest

from tests.conftest import require


def test_a_missing_module_skips_locally(monkeypatch):
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception):
        require("prbench_no_such_module")


def test_a_missing_module_fails_in_ci(monkeypatch):
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="CI=true but prbench_no_such_module"):
        require("prbench_no_such_module")
    assert require("json").__name__ == "json"
