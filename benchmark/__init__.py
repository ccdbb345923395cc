"""prbench core: evaluate personalized judges and reward models on user-stratified preference benchmarks.

The pieces a method author or a script needs, and `evaluate` (benchmark/api.py), the Python API:
`evaluate("method=reward_model", "split.max_users=6")` runs what `prbench` would and returns it typed.
"""

from benchmark.errors import ConfigError, DataError, PrbenchError, RunError
from benchmark.methods import Method, State, UserData, register_method
from benchmark.records import Benchmark, Cost, JudgeItem, Judgment, Message, PreferencePair, UserProfile

__all__ = [
    "Benchmark", "EvalResult", "evaluate", "ConfigError", "Cost", "DataError", "JudgeItem", "Judgment", "Message",
    "Method",
    "PreferencePair", "PrbenchError", "RunError", "State", "UserData", "UserProfile", "register_method",
]


def __getattr__(name: str):
    """`evaluate` and `EvalResult` are imported on first use: they bring Hydra, pandas and the runner."""
    if name in ("evaluate", "EvalResult"):
        from benchmark import api

        return getattr(api, name)
    raise AttributeError(f"module 'benchmark' has no attribute {name!r}")
