# EPOS: `make run` to try it, `make test` to check it. See README.md.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: install prepare run dev test bench lint stack migrate frontend zapier clean

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

# `make run` serves as a user would meet EPOS: DEBUG off (no debug pages listing every URL),
# static files through WhiteNoise, the styled 404/403/500 pages, and a secret key made once for
# this checkout in .secret_key (ignored by git). `make dev` is the same with DEBUG on.
SECRET_FILE := .secret_key
RUN_ENV = DEBUG=0 SECRET_KEY="$$(cat $(SECRET_FILE))" EPOS_SITE_URL=http://localhost:$(PORT)
DEV_ENV = DEBUG=1

$(SECRET_FILE):
	umask 077 && $(PYTHON) -c "import secrets; print(secrets.token_urlsafe(50))" > $(SECRET_FILE)

migrate: install $(SECRET_FILE)
	$(RUN_ENV) $(BIN)/python manage.py migrate --noinput

# Loaders create only what was never loaded: people's edits and deletions survive every start.
prepare: migrate
	$(RUN_ENV) $(BIN)/python manage.py collectstatic --noinput -v 0
	$(RUN_ENV) $(BIN)/python manage.py load_processes
	$(RUN_ENV) $(BIN)/python manage.py load_catalog
	$(RUN_ENV) $(BIN)/python manage.py seed_demo --if-empty
	$(RUN_ENV) $(BIN)/python manage.py snapshot_metrics --backfill 90
	@echo ""
	@echo "  EPOS is starting on http://$(HOST):$(PORT)/"
	@echo "  Demo logins (password epos-demo): sa1..sa9, manager1..manager3, curator1, curator2, admin"
	@echo ""

run: prepare
	$(RUN_ENV) $(BIN)/python manage.py runserver --noreload $(HOST):$(PORT)

dev: prepare
	$(DEV_ENV) $(BIN)/python manage.py runserver $(HOST):$(PORT)

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
	rm -rf $(VENV) node_modules zapier/node_modules static/vendor staticfiles
