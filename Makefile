# Every target creates or reuses .venv and installs what it needs; nothing relies on a hand-made install.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: demo test lint format bench lab clean-venv

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev,notebook,legacy]'
	touch $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/rustybt demo

test: $(STAMP)
	$(PY) -m pytest -n 2 --dist loadfile --nbval-lax --nbval-sanitize-with notebooks/sanitize.cfg tests notebooks

lint: $(STAMP)
	$(VENV)/bin/ruff check rustybt tests benchmarks data
	$(VENV)/bin/ruff format --check rustybt tests benchmarks data

format: $(STAMP)
	$(VENV)/bin/ruff format rustybt tests benchmarks data
	$(VENV)/bin/ruff check --fix rustybt tests benchmarks data

bench: $(STAMP)
	$(PY) benchmarks/ingest.py

clean-venv:
	rm -rf $(VENV)

lab: $(STAMP)
	RUSTYBT_DATA_DIR=$(CURDIR)/.rustybt/data $(PY) -c "from rustybt import Catalog; from rustybt.sample import ingest_sample; ingest_sample(Catalog(), progress=False)"
	RUSTYBT_DATA_DIR=$(CURDIR)/.rustybt/data $(VENV)/bin/jupyter lab notebooks
