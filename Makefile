# The README's two set-up commands: `make run` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
FLASK := $(VENV)/bin/flask --app pro_app.app
PG_VERSION ?= 15

.PHONY: run test install install-test translations lint check-pg

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip

$(VENV)/.installed: pyproject.toml | $(PY)
	$(PY) -m pip install -q -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(PY)
	$(PY) -m pip install -q -e '.[test]'
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
	$(FLASK) demo --base-url http://127.0.0.1:5000
	@echo "Reminders: 'flask notify send' runs every minute; messages are written to instance/outbox/."
	@( while sleep 60; do $(FLASK) notify send >/dev/null; done ) & pid=$$!; \
	  trap 'kill $$pid 2>/dev/null' EXIT INT TERM; \
	  $(FLASK) run --host 127.0.0.1 --port 5000

check-pg:
	@command -v pg_virtualenv >/dev/null || { echo "make test needs PostgreSQL $(PG_VERSION) (Debian: apt-get install postgresql); .ci/run installs it." >&2; exit 1; }
	@command -v chromium >/dev/null || { echo "make test needs Chromium (Debian: apt-get install chromium); .ci/run installs it." >&2; exit 1; }

test: install-test translations check-pg
	$(PY) -m pytest
	# The same database-facing tests against a throw-away PostgreSQL cluster.
	pg_virtualenv -t -v $(PG_VERSION) env PRO_TEST_DATABASE_URL=postgresql+psycopg:// \
		$(PY) -m pytest -m "not browser" tests/web tests/test_migrations.py

lint: install-test
	$(VENV)/bin/ruff check .
