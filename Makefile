# MIA: `make run` starts everything, `make test` runs the whole suite. Only Python 3.11 and make needed.
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: run test setup bench lint clean

$(STAMP): requirements.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --disable-pip-version-check -q -r requirements.txt
	@touch $(STAMP)

setup: $(STAMP)
	@mkdir -p var
	$(PY) manage.py migrate --noinput -v 0
	$(PY) manage.py collectstatic --noinput -v 0
	$(PY) manage.py mia_setup
	$(PY) manage.py ml_bootstrap

run: setup
	@echo "Starting MIA (redis, web, workers, beat, gateway). Ctrl-C stops everything, the gateway last."
	$(PY) -m mia_site.supervisor Procfile

test: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/lint-imports --no-cache
	$(PY) -m pytest

bench: setup
	$(PY) manage.py bench --json var/bench.json

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/lint-imports --no-cache

clean:
	rm -rf var/staticfiles var/test-db.sqlite3 .pytest_cache
