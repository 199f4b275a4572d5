# Two commands set up everything on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
DB ?= data/motcua.duckdb
PORT ?= 8501
SAMPLE_FILES = $(sort $(wildcard sample_data/exports/*))

.PHONY: run test lint bench bench-national demo-db clean chromium openssl java spark-deps

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]'
	touch $@

# Demo database from the committed sample exports (only when absent).
$(DB): | $(VENV)/.installed
	$(VENV)/bin/motcua load $(SAMPLE_FILES) --db $(DB)

demo-db: $(DB)

HOST ?= 127.0.0.1
BASE_PATH ?=

# The production entry point (`motcua serve`: headless, XSRF on, usage statistics off, JSON logs on stdout).
run: $(VENV)/.installed $(DB)
	$(VENV)/bin/motcua serve --db $(DB) --host $(HOST) --port $(PORT) --base-path "$(BASE_PATH)"

# System Chromium drives the browser tests, the chart PNGs and the PDF brief (never `playwright install`);
# poppler-utils (pdftoppm) lets the tests look at the printed brief.
chromium:
	@(command -v chromium && command -v pdftoppm) >/dev/null 2>&1 || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-dejavu-core poppler-utils >/dev/null)

# The Spark test tier: Debian's Java 17 runtime and the optional [spark] extra (pyspark).
java:
	@command -v java >/dev/null 2>&1 || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq openjdk-17-jre-headless >/dev/null)

$(VENV)/.spark-installed: $(VENV)/.installed pyproject.toml
	$(PY) -m pip install -q -e '.[dev,spark]'
	touch $@

spark-deps: java $(VENV)/.spark-installed

lint: $(VENV)/.installed
	$(VENV)/bin/ruff check .

# The mail tests make a self-signed certificate for their local STARTTLS server.
openssl:
	@command -v openssl >/dev/null 2>&1 || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq openssl >/dev/null)

test: $(VENV)/.installed chromium openssl spark-deps lint
	MOTCUA_REQUIRE_SPARK=1 $(VENV)/bin/pytest

bench: $(VENV)/.installed
	$(PY) -m scripts.bench

# National scale: synthetic dossiers over 3,321 communes / 34 provinces -> lake -> DuckDB and Spark timings.
# NATIONAL_ROWS=100000000 is the national size; the default is what a 2-core machine builds in minutes.
NATIONAL_ROWS ?= 10000000
bench-national: $(VENV)/.installed spark-deps
	$(PY) -m scripts.national_bench --rows $(NATIONAL_ROWS)

clean:
	rm -rf $(VENV) data test-artifacts bench-out
