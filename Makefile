# Two commands for a fresh machine: `make run` (set-up + the embedded default) and `make test`.
VENV ?= .venv
PY := $(VENV)/bin/python
export PATH := $(abspath $(VENV))/bin:$(PATH)
CORES ?= all

.PHONY: run test setup repro clean browser profile

# imagecorruptions (tests/test_imagecorruptions.py compares with it) goes in without its dependencies:
# its opencv-python would shadow opencv-python-headless. scikit-image, the one of the others the project
# lacks, is in the test extra.
$(VENV)/.installed: pyproject.toml Makefile
	python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	$(PY) -m pip install --quiet --no-deps imagecorruptions==1.1.2
	touch $@

setup: $(VENV)/.installed

run: setup
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

test: setup browser
	$(PY) -m pytest -q -rs

# Where the last Snakemake run's time went, per stage (from each rule's benchmark: file).
profile: setup
	$(PY) -m augaudit.timings

clean:
	rm -rf data results logs .snakemake
