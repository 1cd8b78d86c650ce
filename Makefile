# The README's two set-up commands: `make run` (PORT=5000) and `make test`.
# `make lock` refreshes the lock files after a change to pyproject.toml.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
FLASK := $(VENV)/bin/flask --app pro_app.app
PG_VERSION ?= 15
PORT ?= 5000
BASE_URL ?= http://127.0.0.1:$(PORT)

.PHONY: run test install install-test translations lint lock system-packages

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip

# Exactly the pinned, hash-checked versions of the lock file, then the project itself.
$(VENV)/.installed: requirements.txt pyproject.toml | $(PY)
	$(PY) -m pip install -q --require-hashes -r requirements.txt
	$(PY) -m pip install -q --no-deps -e .
	touch $@

$(VENV)/.installed-test: requirements-test.txt pyproject.toml | $(PY)
	$(PY) -m pip install -q --require-hashes -r requirements-test.txt
	$(PY) -m pip install -q --no-deps -e .
	touch $@ $(VENV)/.installed

install: $(VENV)/.installed
install-test: $(VENV)/.installed-test

# Compiled catalogues are build output (git-ignored).
translations: | $(PY)
	$(PY) -m babel.messages.frontend compile -d translations --use-fuzzy >/dev/null

# Development secrets (session key, contact-details key), generated once and kept out of git. Cookies are sent
# over plain HTTP here because `make run` serves on 127.0.0.1 without TLS.
instance/config.py: | $(PY)
	mkdir -p instance
	$(PY) -c "import secrets; from cryptography.fernet import Fernet; \
	  print(f'SECRET_KEY = {secrets.token_hex(32)!r}'); \
	  print(f'DATA_KEY = {Fernet.generate_key().decode()!r}  # encrypts contact details'); \
	  print('SESSION_COOKIE_SECURE = False  # make run serves plain HTTP on 127.0.0.1')" > $@
	chmod 600 $@

run: install translations instance/config.py
	@grep -q '^DATA_KEY' instance/config.py || $(PY) -c "from cryptography.fernet import Fernet; print(f'DATA_KEY = {Fernet.generate_key().decode()!r}')" >> instance/config.py
	$(FLASK) db upgrade
	$(FLASK) demo --base-url $(BASE_URL)
	@echo "Reminders: 'flask notify send' runs every minute; messages are written to instance/outbox/."
	@( while sleep 60; do $(FLASK) notify send >/dev/null; done ) & pid=$$!; \
	  trap 'kill $$pid 2>/dev/null' EXIT INT TERM; \
	  $(FLASK) run --host 127.0.0.1 --port $(PORT)

# Links in the messages that `flask notify send` writes, and on the handover page.
run: export PRO_NOTIFY_BASE_URL := $(BASE_URL)

# Chromium and PostgreSQL: installed when missing (as root or with password-less sudo).
system-packages:
	@bash .ci/system-packages

test: system-packages install-test translations
	$(PY) -m pytest
	# The same database-facing tests against a throw-away PostgreSQL cluster.
	pg_virtualenv -t -v $(PG_VERSION) env PRO_TEST_DATABASE_URL=postgresql+psycopg:// \
		$(PY) -m pytest -m "not browser" tests/web tests/test_migrations.py

lint: install-test
	$(VENV)/bin/ruff check .

# Lock files for Python 3.11 on Linux, hashes included, from PyPI: requirements.txt for
# `make run`, requirements-test.txt (the same pins plus the test extra) for `make test`.
# Pins already in them are kept; `make lock UPGRADE=1` moves everything to the newest
# versions pyproject.toml allows.
UV_VERSION := 0.13.8
LOCK_OPTIONS = --quiet --generate-hashes --python-version 3.11 --python-platform linux \
	--custom-compile-command "make lock" $(if $(UPGRADE),--upgrade)
lock: | $(PY)
	$(PY) -m pip install -q uv==$(UV_VERSION)
	$(VENV)/bin/uv pip compile pyproject.toml --extra test $(LOCK_OPTIONS) -o requirements-test.txt
	$(VENV)/bin/uv pip compile pyproject.toml -c requirements-test.txt $(LOCK_OPTIONS) -o requirements.txt
