"""prbench core: evaluate personalized judges and reward models on user-stratified preference benchmarks.

The pieces a method author or a script needs:
"""

from benchmark.errors import ConfigError, DataError, PrbenchError, RunError
from benchmark.methods import Method, State, UserData, register_method
from benchmark.records import Benchmark, Cost, JudgeItem, Judgment, Message, PreferencePair, UserProfile

__all__ = [
    "Benchmark", "ConfigError", "Cost", "DataError", "JudgeItem", "Judgment", "Message", "Method",
    "PreferencePair", "PrbenchError", "RunError", "State", "UserData", "UserProfile", "register_method",
]
