# Two commands: `make run` (the demo site) and `make test` (every test, on PostgreSQL and Redis).
SHELL := /bin/bash
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
TEST_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/portal
TEST_REDIS_URL ?= redis://127.0.0.1:6379/0

.PHONY: run test lint services install migrate seed bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

migrate: $(STAMP)
	mkdir -p var
	$(BIN)/python manage.py migrate --noinput

seed: migrate
	$(BIN)/python manage.py seed_demo

# The demo offers "Sign in with Microsoft / Webex" through the sandbox's identity providers
# (sandbox_connect registers these clients and a work account for every demo user).
# DEBUG is off, so people see the site's own 404 and 500 pages; `make run DEBUG=1` brings
# back Django's debug pages for a developer. The sandbox defaults stay on either way.
run: export DEBUG ?= 0
run: export SANDBOX_DEFAULTS ?= 1
run: export SIGNIN_MICROSOFT_CLIENT_ID ?= portal-signin-demo
run: export SIGNIN_MICROSOFT_CLIENT_SECRET ?= demo-signin-secret
run: export SIGNIN_MICROSOFT_TENANT ?= globex-tenant
run: export SIGNIN_WEBEX_CLIENT_ID ?= portal-webex-signin-demo
run: export SIGNIN_WEBEX_CLIENT_SECRET ?= demo-signin-secret
run: $(STAMP)
	mkdir -p var
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py collectstatic --noinput -v 0
	$(BIN)/python manage.py seed_demo
	@echo
	@echo "Starting the sandbox, the web server on http://127.0.0.1:8000/, a worker and beat."
	@echo "Ctrl-C stops them all. Demo logins follow once the sandbox answers."
	@echo
	PATH=$(CURDIR)/$(BIN):$$PATH $(BIN)/honcho start -f Procfile

services:
	@bash scripts/ensure_services.sh
	@bash scripts/ensure_browser.sh

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/lint-imports

test: $(STAMP) services
	$(BIN)/ruff check .
	$(BIN)/lint-imports
	DATABASE_URL=$(TEST_DATABASE_URL) REDIS_URL=$(TEST_REDIS_URL) \
		$(BIN)/python -m pytest tests

bench: $(STAMP) services
	@ls bench/*.py

clean:
	rm -rf var $(VENV)
