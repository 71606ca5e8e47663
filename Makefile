# EPOS: `make run` to try it, `make test` to check it. See README.md.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: install run test bench lint stack migrate frontend zapier clean

$(STAMP): requirements.txt requirements-dev.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements.txt -r requirements-dev.txt
	touch $(STAMP)

install: $(STAMP) frontend zapier

# Front-end packages come from the npm registry through package.json; nothing is committed.
frontend: package.json
	@if [ -f package-lock.json ]; then npm ci --silent --no-audit --no-fund; else npm install --silent --no-audit --no-fund; fi
	node scripts/copy-vendor.mjs

# The Zapier app's packages (zapier-platform-core, jest), reinstalled only when its lock changes.
zapier: zapier/node_modules/.package-lock.json
zapier/node_modules/.package-lock.json: zapier/package.json zapier/package-lock.json
	npm ci --prefix zapier --silent --no-audit --no-fund

migrate: install
	DEBUG=$${DEBUG:-1} $(BIN)/python manage.py migrate --noinput

run: migrate
	DEBUG=$${DEBUG:-1} $(BIN)/python manage.py load_processes
	DEBUG=$${DEBUG:-1} $(BIN)/python manage.py load_catalog
	DEBUG=$${DEBUG:-1} $(BIN)/python manage.py seed_demo --if-empty
	DEBUG=$${DEBUG:-1} $(BIN)/python manage.py snapshot_metrics --backfill 90
	@echo ""
	@echo "  EPOS is starting on http://$(HOST):$(PORT)/"
	@echo "  Demo logins (password epos-demo): sa1..sa9, manager1..manager3, curator1, admin"
	@echo ""
	DEBUG=$${DEBUG:-1} $(BIN)/python manage.py runserver $(HOST):$(PORT)

test: install
	DEBUG=$${DEBUG:-0} SECRET_KEY=$${SECRET_KEY:-test-only-secret-key} $(BIN)/pytest $(PYTEST_ARGS)

bench: install
	DEBUG=0 SECRET_KEY=$${SECRET_KEY:-bench-only-secret-key} $(BIN)/python -m bench.run $(BENCH_ARGS)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# The production topology with real processes: gunicorn + celery worker + celery beat.
# Needs DATABASE_URL and CELERY_BROKER_URL (and SECRET_KEY with DEBUG off).
stack: install
	@test -n "$$DATABASE_URL" || (echo "DATABASE_URL is required for make stack" && exit 2)
	@test -n "$$CELERY_BROKER_URL" || (echo "CELERY_BROKER_URL is required for make stack" && exit 2)
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py collectstatic --noinput -v 0
	$(BIN)/python manage.py load_processes
	$(BIN)/python manage.py load_catalog
	trap 'kill 0' EXIT; \
	$(BIN)/celery -A epos worker --loglevel=INFO --concurrency=2 & \
	$(BIN)/celery -A epos beat --loglevel=INFO --schedule=/tmp/epos-celerybeat-schedule & \
	$(BIN)/gunicorn epos.wsgi:application --bind $(HOST):$(PORT) --workers $${WEB_CONCURRENCY:-4} --access-logfile - & \
	wait

clean:
	rm -rf $(VENV) node_modules static/vendor staticfiles
