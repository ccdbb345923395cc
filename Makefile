.PHONY: setup demo test test-fast test-latest lint lock leaderboard regress regress-record

setup:            ## install prbench, its stack and the offline models
	bash scripts/setup.sh

demo: setup       ## the default sweep on the bundled demo benchmark, then the leaderboard
	prbench -m resume=true  # a second `make demo` reuses the finished runs

# Two pytest-xdist workers: a 2-core machine runs the suite in less time (tests/conftest.py groups the
# tests that share a costly fixture onto one worker). WORKERS=0 runs it in this process.
WORKERS ?= 2
test: setup       ## the whole test suite, slow real-model tests included (what CI runs)
	python -m pytest -n $(WORKERS)

lint:             ## ruff, configured in pyproject.toml (CI runs it)
	python -m ruff check .

test-fast:        ## skip the tests that run real models
	python -m pytest -n $(WORKERS) -m "not slow"

# The newest versions pyproject.toml allows, without the lock, in a throwaway virtualenv: finds a breaking
# upstream release before a lock update brings it to users. Run it before `make lock`.
LATEST_VENV ?= /tmp/prbench-latest
test-latest:      ## the fast tests on the newest allowed versions (no lock), in a throwaway virtualenv
	rm -rf $(LATEST_VENV) && python3.11 -m venv $(LATEST_VENV)
	. $(LATEST_VENV)/bin/activate && PRBENCH_UNLOCKED=1 bash scripts/setup.sh && python -m pip list --format=freeze \
		| grep -v '^prbench' > $(LATEST_VENV)/versions.txt && python -m pytest -n $(WORKERS) -m "not slow"

# Re-resolve requirements/lock.txt on purpose (README: "Locked versions"): commit it on its own, with the tests
# run on it. uv resolves the whole stack in seconds, for Linux x86_64 and Python 3.11 whatever machine runs it.
# The CPU torch wheel is found where pip is told to look (PIP_FIND_LINKS), else on PyTorch's CPU page.
UV_VERSION = 0.13.9
lock:             ## re-resolve requirements/lock.txt to the newest allowed versions (then run make test)
	python -m pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)
	uv pip compile pyproject.toml requirements/lock.in --extra test --extra reference --upgrade --python-version 3.11 \
		--python-platform x86_64-manylinux_2_28 --custom-compile-command "make lock" \
		--find-links "$${PIP_FIND_LINKS:-https://download.pytorch.org/whl/cpu/torch/}" -o requirements/lock.txt

leaderboard:      ## rebuild results/leaderboard.{csv,md} and results/report/ from every run under results/runs
	prbench-report

GATE_METHODS = reward_model reward_model_personal reward_model_user_features longer
GATE_SWEEP = prbench -m method=$(shell echo $(GATE_METHODS) | tr ' ' ',') logger=none results_dir=results/regress

regress: setup    ## accuracy gate: the fast CPU methods on the demo vs results/gate/demo.json
	rm -rf results/regress
	$(GATE_SWEEP)
	prbench-regress --baseline results/gate/demo.json --run $(foreach m,$(GATE_METHODS),results/regress/runs/demo/$(m))

# Re-record the gate's baseline (commit the result, say why). Two seeded reruns per method (same split)
# measure the rerun noise: none for these deterministic methods, so the gate's tolerance is its floor.
regress-record: setup  ## re-record the gate's baseline: two seeded reruns per method (commit it, say why)
	rm -rf results/regress results/gate/demo.json
	$(GATE_SWEEP) seed=0,1 split.seed=0 'run_name=$${data.name}/$${method.name}/seed$${seed}'
	prbench-regress --baseline results/gate/demo.json --write \
		--run $(foreach m,$(GATE_METHODS),results/regress/runs/demo/$(m)/seed0 results/regress/runs/demo/$(m)/seed1)
