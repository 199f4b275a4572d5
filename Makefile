# Two commands set up everything on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
DB ?= data/motcua.duckdb
PORT ?= 8501
SAMPLE_FILES = $(sort $(wildcard sample_data/exports/*))

.PHONY: run test lint bench demo-db clean chromium

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]'
	touch $@

# Demo database from the committed sample exports (only when absent).
$(DB): | $(VENV)/.installed
	$(VENV)/bin/motcua load $(SAMPLE_FILES) --db $(DB)

demo-db: $(DB)

run: $(VENV)/.installed $(DB)
	MOTCUA_DB=$(DB) $(VENV)/bin/streamlit run dashboard/app.py --server.port $(PORT) --server.headless true \
		--client.disableDataExport true

# System Chromium drives the browser tests, the chart PNGs and the PDF brief (never `playwright install`);
# poppler-utils (pdftoppm) lets the tests look at the printed brief.
chromium:
	@(command -v chromium && command -v pdftoppm) >/dev/null 2>&1 || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-dejavu-core poppler-utils >/dev/null)

lint: $(VENV)/.installed
	$(VENV)/bin/ruff check .

test: $(VENV)/.installed chromium lint
	$(VENV)/bin/pytest

bench: $(VENV)/.installed
	$(PY) -m scripts.bench

clean:
	rm -rf $(VENV) data test-artifacts bench-out
