"""`python -m benchmark.view` is `prbench-view`."""

from benchmark.view.cli import main

main()
