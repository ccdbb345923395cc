.PHONY: setup demo test test-fast leaderboard

setup:            ## install prbench, its stack and the offline models
	bash scripts/setup.sh

demo: setup       ## the default sweep on the bundled demo benchmark, then the leaderboard
	prbench -m

test: setup       ## the whole test suite, slow real-model tests included (what CI runs)
	python -m pytest

test-fast:        ## skip the tests that run real models
	python -m pytest -m "not slow"

leaderboard:      ## rebuild results/leaderboard.{csv,md} from every run under results/runs
	prbench-leaderboard
