"""Loading and validating preference data."""

from benchmark.data.loaders import load_benchmark, loader

__all__ = ["load_benchmark", "loader"]
