"""Hydra callbacks of a sweep (`prbench -m ...`, configs/config.yaml hydra.callbacks)."""

from __future__ import annotations

from pathlib import Path

from hydra.experimental.callback import Callback

from benchmark.report import cli_errors, format_leaderboard, unfinished_note, write_all
from benchmark.runner.merge import merge_finished


class LeaderboardCallback(Callback):
    """After a sweep, merge the sharded runs it finished, print the leaderboard of the runs it made and update
    results/ (leaderboard.{csv,md} and report/)."""

    def on_multirun_end(self, config, **kwargs) -> None:
        runs_dir = Path(config.hydra.sweep.dir)
        with cli_errors("prbench"):
            merge_finished(runs_dir)
            df, report = write_all(runs_dir, Path(config.results_dir))
            note = unfinished_note(runs_dir)
        print("\n" + format_leaderboard(df.drop(columns=["run"])) + (f"\n{note}\n" if note else "")
              + f"\nreport: {report}")
