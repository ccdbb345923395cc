"""Loading and validating preference data."""

from benchmark.data.loaders import LOADERS, load_benchmark, loader

__all__ = ["LOADERS", "load_benchmark", "loader"]
