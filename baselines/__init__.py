"""Built-in methods, one module each, found through the `prbench.methods` entry points in pyproject.toml."""
