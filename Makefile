# eegd — set-up, tests, demo. `make test` is what CI runs (.ci/run).
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
DATA ?= ../shared/data/epileptic_seizure_train.csv

.PHONY: venv test demo cluster-demo lint model baseline published bench soak fuzz chaos clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet torch==2.13.0
	$(PY) -m pip install --quiet -e '.[dev]'
	@# the live view's browser tests drive Debian's chromium (Playwright cannot download a browser offline)
	@command -v chromium >/dev/null || apt-get install -y -q chromium >/dev/null 2>&1 || \
		echo "chromium is not installed: the view's browser tests will be skipped (apt-get install chromium)"
	touch $(STAMP)

venv: $(STAMP)

test: venv
	$(VENV)/bin/lint-imports --no-cache
	$(VENV)/bin/pytest -q --durations=15

demo: venv
	$(VENV)/bin/eegd demo

# 3 NATS nodes, 2 eegd workers, 50 simulated devices over MQTT and a console (docs/cluster.md); Ctrl-C stops it all
cluster-demo: venv
	$(VENV)/bin/eegd demo --cluster

lint: venv
	$(VENV)/bin/ruff check eegstream models daemon tests

# The shipped checkpoints, trained on the whole training set (validation split by recording):
# conv_lstm is the default, seed_lstm the published recipe kept as the baseline.
model: venv
	$(VENV)/bin/eegd train --data $(DATA) --out models/weights/conv_lstm.safetensors --arch conv_lstm --epochs 30 --seed 0
	$(VENV)/bin/eegd train --data $(DATA) --out models/weights/seed_lstm.safetensors --seed 0

# The by-recording tables of docs/model-card.md: 5 folds, each trained and then evaluated.
baseline: venv
	$(VENV)/bin/eegd crossval --data $(DATA) --folds 5 --seed 0 --out build/baseline
	$(VENV)/bin/eegd crossval --data $(DATA) --folds 5 --seed 0 --arch conv_lstm --epochs 30 --out build/cv_conv

# The seed recipe trained as published (random crops, 1,500 epochs, no early stopping), on the same folds (~40 min).
published: venv
	$(VENV)/bin/eegd crossval --data $(DATA) --folds 5 --seed 0 --published --epochs 1500 --quiet --events --out build/cv_published

# Throughput and capacity on this machine (not part of `make test`; CI runs a small smoke of it).
bench: venv
	mkdir -p build
	$(VENV)/bin/eegd bench --json build/bench.json

# 200 CSV streams + 20 LSL beds (21 ch, 256 Hz) for SOAK_MINUTES with a broker restart half way; memory every
# minute, slope after warm-up, growing allocation sites -> build/soak.json, build/soak.png (not part of `make test`).
SOAK_MINUTES ?= 120
soak: venv
	PYTHONPATH=tests/support $(PY) bench/soak.py --streams 200 --lsl-beds 20 --minutes $(SOAK_MINUTES)

# The fuzzers of every parser of outside input, 20,000 inputs each (minutes); `make test` runs 60 of each.
fuzz: venv
	HYPOTHESIS_PROFILE=long $(VENV)/bin/pytest -q -p no:cacheprovider -m fuzz

# Faults on a loop for CHAOS_MINUTES: broker killed every 30 s, LSL outlets vanishing and returning, SIGHUP, a full
# disk under the fallback broker's store, SIGTERM at the end -> build/chaos.json (not part of `make test`).
CHAOS_MINUTES ?= 5
chaos: venv
	PYTHONPATH=tests/support $(PY) bench/chaos.py --minutes $(CHAOS_MINUTES)

clean:
	rm -rf $(VENV) build .pytest_cache
