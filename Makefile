.PHONY: setup demo test test-fast leaderboard regress regress-record

setup:            ## install prbench, its stack and the offline models
	bash scripts/setup.sh

demo: setup       ## the default sweep on the bundled demo benchmark, then the leaderboard
	prbench -m resume=true  # a second `make demo` reuses the finished runs

test: setup       ## the whole test suite, slow real-model tests included (what CI runs)
	python -m pytest

test-fast:        ## skip the tests that run real models
	python -m pytest -m "not slow"

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
