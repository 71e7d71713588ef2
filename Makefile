# Two commands for a fresh machine: `make run` (set-up + the embedded default) and `make test`.
VENV ?= .venv
PY := $(VENV)/bin/python
export PATH := $(abspath $(VENV))/bin:$(PATH)
CORES ?= all

.PHONY: run test setup repro clean

$(VENV)/.installed: pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	touch $@

setup: $(VENV)/.installed

run: setup
	snakemake --cores $(CORES)

repro: setup
	@test -d .dvc || dvc init --quiet
	dvc repro

test: setup
	$(PY) -m pytest -q

clean:
	rm -rf data results logs .snakemake
