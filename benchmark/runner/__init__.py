"""Running evaluations: `benchmark.runner.run.run` for one config, `main` for the `prbench` command."""
