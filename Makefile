# Two commands for a fresh machine: `make run` (set-up + the embedded default) and `make test`.
VENV ?= .venv
PY := $(VENV)/bin/python
export PATH := $(abspath $(VENV))/bin:$(PATH)
CORES ?= all
PYTHON ?= python3

.PHONY: run test test-fast lint setup repro clean browser profile lock prescribe dvc.yaml

# Exact versions, every wheel's hash: requirements.lock, resolved by `make lock` from pyproject.toml for
# Python 3.11-3.13 on every platform. imagecorruptions (tests/test_imagecorruptions.py compares with it)
# goes in without its dependencies: its opencv-python would shadow opencv-python-headless.
$(VENV)/.installed: requirements.lock pyproject.toml Makefile
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet --require-hashes -r requirements.lock
	$(PY) -m pip install --quiet --no-deps -e .
	$(PY) -m pip install --quiet --no-deps imagecorruptions==1.1.2
	touch $@

# Re-resolve requirements.lock after a change of pyproject.toml's pins (needs the package index).
lock:
	$(PY) -m pip install --quiet uv==0.13.9
	$(VENV)/bin/uv pip compile pyproject.toml --extra test --universal --generate-hashes --quiet \
	  --output-file requirements.lock

setup: $(VENV)/.installed

run: setup
	snakemake --cores $(CORES)

# The loop closed: after a run, prescribe a recipe for each variant's weakest factors, make the prescribed
# params.yaml the project's (its diff: results/prescription/params.diff) and run it: only the new variants'
# jobs and the summary run, and the report's "Prescriptions" table says which were validated.
prescribe: run
	augaudit prescribe
	cp results/prescription/params.yaml params.yaml
	snakemake --cores $(CORES)

repro: setup
	@test -d .dvc || dvc init --quiet
	dvc repro

# The browser test needs Debian's chromium + chromium-driver; installed here when root can (CI can).
browser:
	@command -v chromium >/dev/null && command -v chromedriver >/dev/null || \
	  { [ "$$(id -u)" = 0 ] && (apt-get install -y -q chromium chromium-driver >/dev/null 2>&1 || \
	    (apt-get update -q >/dev/null && apt-get install -y -q chromium chromium-driver >/dev/null)) || \
	    echo "chromium not installed: the browser test will be skipped"; }

# lint, then the unit tests (under a minute: pytest-xdist, a worker per core), then the end-to-end suite (both engines, real training).
test: setup browser lint test-fast
	$(PY) -m pytest -q -rs -m e2e --durations=15

test-fast: setup
	$(PY) -m pytest -q -rs -m "not e2e" -n auto --durations=10

# ruff (pyflakes, import order, bugbear, pyupgrade), snakefmt, and snakemake --lint. Its one finding left
# is "specify a conda environment or container for each rule": software comes from requirements.lock.
lint: setup
	ruff check .
	snakefmt --check Snakefile workflow/rules
	@findings=$$(snakemake --lint 2>&1 | grep '^ *\* ' | grep -v 'Specify a conda environment or container'); \
	  if [ -n "$$findings" ]; then snakemake --lint; exit 1; fi

# dvc.yaml's code dependencies and params, from the imports and each stage's declared params (the Snakefile
# computes its own at parse time): tests/test_graph.py says "run make dvc.yaml" when dvc.yaml is out of date.
dvc.yaml: setup
	augaudit dvc-yaml

# Where the last Snakemake run's time went, per stage (from each rule's benchmark: file).
profile: setup
	augaudit profile

clean:
	rm -rf data results logs .snakemake
