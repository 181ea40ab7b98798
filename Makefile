# Two commands on a fresh machine: `make run` and `make test`. See README.md.
VENV ?= .venv
PYTHON ?= python3
PY := $(CURDIR)/$(VENV)/bin/python
STAMP := $(VENV)/.installed
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)

.PHONY: install run test lint format bench bench-scale mutation clean

CARDS := backend/tests_support/adaptive_cards

$(STAMP): requirements/base.in requirements/dev.in requirements/lock.txt $(CARDS)/package-lock.json
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements/dev.in -c requirements/lock.txt
	@# The Teams tests check every card with Microsoft's Adaptive Cards package (Node).
	@if command -v npm >/dev/null; then npm ci --prefix $(CARDS) --silent --no-audit --no-fund; \
	  else echo "npm not found: the Teams card checks will be skipped (apt-get install npm)"; fi
	touch $(STAMP)

## install: virtualenv + pinned dependencies + database migrations + static files (idempotent)
install: $(STAMP)
	cd backend && $(PY) manage.py migrate --noinput
	cd backend && $(PY) manage.py createcachetable
	cd backend && $(PY) manage.py collectstatic --noinput --verbosity 0

## run: web (gunicorn), worker and beat (Celery) together; Ctrl-C stops all three
# honcho gives each process its own PORT (web: $PORT, worker: +100, beat: +200), so the links
# that workers put in messages need PUBLIC_BASE_URL fixed here, from the web port.
# The metrics folder is emptied once, before any of the three starts (see docs/operations.md).
run: install
	cd backend && $(PY) -c "from core import env; env.reset_metrics_dir()"
	PUBLIC_BASE_URL=$${PUBLIC_BASE_URL:-http://127.0.0.1:$${PORT:-8000}} \
	  $(VENV)/bin/honcho -f Procfile -d . start --port $${PORT:-8000}

## test: the whole suite (set DATABASE_URL / CELERY_BROKER_URL / REQUIRE_SERVICES=1 for the services pass)
test: $(STAMP)
	$(PY) -m pytest $(PYTEST_ARGS)

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

format: $(STAMP)
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

# The bench makes and migrates its own database. Its load generator is wrk, from Debian's
# package (installed here when we may; without it the bench falls back to its own client).
bench: $(STAMP)
	@command -v wrk >/dev/null || [ "$$(id -u)" != 0 ] || apt-get install -y -qq wrk >/dev/null \
	  || (apt-get update -qq && apt-get install -y -qq wrk >/dev/null) || true
	$(PY) bench/run.py

## bench-scale: PostgreSQL with 1,000,000 finished and 100,000 due deliveries: end to end against
## empty tables, claim, sweeper, delivery-log lists and pruning, with their plans (bench/scale.py)
bench-scale: $(STAMP)
	DATABASE_URL=$${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/bench} \
	  BENCH_BROKER_URL=$${BENCH_BROKER_URL:-redis://127.0.0.1:6379/3} $(PY) bench/scale.py

## mutation: mutmut over the pipeline's engine, events, routing and back-off (not in `make test`
## or CI; ~75 min for all 645 mutants on 2 cores). Settings, test selection: backend/setup.cfg; results kept
## in backend/mutants/ (a second run only re-tests what changed). MUTANTS="glob" narrows it,
## e.g. MUTANTS='apps.integrations_external.pipeline.backoff*'.
# Its own VAR_DIR: the forked runs share one test database, removed afterwards.
MUTATION_VAR := $(CURDIR)/var/mutation
mutation: $(STAMP)
	rm -f $(MUTATION_VAR)/test_db_*.sqlite3
	cd backend && VAR_DIR=$(MUTATION_VAR) $(PY) -m mutmut run --max-children 1 $(MUTANTS); \
	  status=$$?; rm -f $(MUTATION_VAR)/test_db_*.sqlite3; exit $$status
	cd backend && $(PY) -m mutmut results

clean:
	rm -rf var backend/mutants $(VENV) $(CARDS)/node_modules
