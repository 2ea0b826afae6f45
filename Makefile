# Every target creates or reuses .venv and installs what it needs; nothing relies on a hand-made install.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: demo test browser lint format bench lab clean-venv

# The JupyterLab extension is built by the package's build hook (npm) during the install below: a change under
# extension/ re-runs the install, which rebuilds it; otherwise `make test` builds nothing.
EXT_SOURCES := $(wildcard extension/src/*.ts extension/style/*) extension/package.json extension/package-lock.json \
	extension/tsconfig.json jupyter-config/jupyter_server_config.d/rustybt.json

$(STAMP): pyproject.toml $(EXT_SOURCES)
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev,notebook,legacy,adapters,scale]'
	touch $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/rustybt demo

# The JupyterLab UI test drives Debian's chromium (never a downloaded browser). On a fresh machine where we are root
# with apt-get (CI), install it; elsewhere say what to do (with CI set, the UI test fails rather than skips).
CHROMIUM ?= /usr/bin/chromium
browser:
	@if [ -x "$(CHROMIUM)" ]; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium >/dev/null; \
	else echo "make: no $(CHROMIUM); the JupyterLab UI test needs Debian's chromium (apt-get install chromium)"; fi

test: $(STAMP) browser
	$(PY) -m pytest -n 2 --dist loadfile --nbval-lax --nbval-current-env --nbval-cell-timeout=120 --nbval-sanitize-with notebooks/sanitize.cfg tests notebooks

lint: $(STAMP)
	$(VENV)/bin/ruff check rustybt tests benchmarks data
	$(VENV)/bin/ruff format --check rustybt tests benchmarks data

format: $(STAMP)
	$(VENV)/bin/ruff format rustybt tests benchmarks data
	$(VENV)/bin/ruff check --fix rustybt tests benchmarks data

# JupyterLab on notebooks/, with the sample bundles ingested (once) into a catalog under .rustybt/ and
# RUSTYBT_DATA_DIR pointing at it, so `%rustybt bundles` in a new notebook shows them. LAB_ARGS: extra options.
LAB_ROOT ?= .rustybt/data
LAB_ARGS ?=
lab: $(STAMP)
	$(PY) -c "from rustybt import Catalog; from rustybt.sample import register_sample; \
	c = Catalog('$(LAB_ROOT)'); register_sample(c); \
	[c.ingest(n, progress=False) for n, i in c.summary().select('bundle', 'ingestion').iter_rows() if i is None]; \
	print(repr(c))"
	RUSTYBT_DATA_DIR="$(abspath $(LAB_ROOT))" $(VENV)/bin/jupyter lab --ServerApp.root_dir=notebooks $(LAB_ARGS)

bench: $(STAMP)
	$(PY) benchmarks/ingest.py

clean-venv:
	rm -rf $(VENV)
