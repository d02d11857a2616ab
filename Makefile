# Two commands do everything on a fresh machine with Python 3.11+:
#   make serve   creates .venv, installs, builds the index if missing or stale, serves http://127.0.0.1:8000
#   make test    creates .venv, installs the dev extras (+ Chromium for browser tests), runs the whole suite
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PIP    := $(BIN)/python -m pip
# torch==2.13.0 is the CPU build on disk; an unpinned torch would pull multi-GB CUDA packages.
PIPFLAGS := -q --disable-pip-version-check -c constraints.txt

.PHONY: install install-dev serve present index check test test-fast bench reliability browser-deps clean \
        i18n-extract i18n-update i18n-compile

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.core-installed: pyproject.toml constraints.txt | $(BIN)/python
	$(PIP) install $(PIPFLAGS) -e .
	touch $@

$(VENV)/.dev-installed: pyproject.toml constraints.txt | $(BIN)/python
	$(PIP) install $(PIPFLAGS) -e '.[dev]'
	touch $(VENV)/.core-installed $@

install: $(VENV)/.core-installed i18n-compile

install-dev: $(VENV)/.dev-installed i18n-compile

serve: install
	$(BIN)/kb serve --watch

# Trainer mode on the room's network: every interface, two workers (sessions are kept in the index folder, so
# both workers serve every room and a restart keeps them), no content watching; it prints the LAN URL that
# phones and the session QR codes use.
present: install
	$(BIN)/kb serve --host 0.0.0.0 --workers 2

index: install
	$(BIN)/kb index

check: install
	$(BIN)/kb check --strict

test: install-dev browser-deps
	$(BIN)/kb check --strict
	$(BIN)/lint-imports
	$(BIN)/python -m pytest

test-fast: install-dev
	$(BIN)/python -m pytest -m "not browser and not slow"

bench: install-dev
	$(BIN)/python bench/retrieval.py --write docs/benchmarks.md
	$(BIN)/python bench/speed.py --write docs/benchmarks.md

reliability: install-dev
	$(BIN)/python bench/reliability.py --write docs/reliability.md

# Browser tests drive Debian's Chromium (never a downloaded browser); CJK fonts so Chinese renders.
browser-deps:
	@command -v chromium >/dev/null 2>&1 && fc-list 2>/dev/null | grep -qi "Noto Sans CJK" || { \
	  echo "installing Debian chromium and fonts-noto-cjk for the browser tests"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-noto-cjk >/dev/null; }

clean:
	rm -rf .kb .pytest_cache kb/web/translations/*/LC_MESSAGES/*.mo

include i18n.mk
