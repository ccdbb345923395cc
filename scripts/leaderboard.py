"""Aggregate every run's summary.json into results/leaderboard.{csv,md} (same as `prbench-leaderboard`)."""

from benchmark.report import leaderboard_main

if __name__ == "__main__":
    leaderboard_main()
