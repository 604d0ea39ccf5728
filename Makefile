# Tracemark developer tasks. `make help` lists them.
#
# Everything runs from .venv, which `make venv` builds from requirements.lock (pinned runtime +
# dev packages) and re-installs only when requirements.lock or pyproject.toml changed.

PYTHON ?= python3
# Interpreter for a new .venv: python3.11 when on PATH (the lock is compiled for 3.11), else $(PYTHON).
VENV_PYTHON ?= $(shell command -v python3.11 2>/dev/null || echo $(PYTHON))
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
PORT ?= 8000
ARGS ?=
UV_VERSION ?= 0.13.9

.DEFAULT_GOAL := help
.PHONY: help venv run test lint format typecheck check migrate worker bench lock

help:
	@echo "make venv       create/update .venv from requirements.lock"
	@echo "make run        migrate, seed a demo on an empty db, serve on 127.0.0.1:\$$PORT ($(PORT)) + worker"
	@echo "make test       whole suite on a throwaway PostgreSQL + Redis, then on SQLite (ARGS=... for pytest)"
	@echo "make lint       ruff check + ruff format --check"
	@echo "make format     ruff format + ruff check --fix"
	@echo "make typecheck  mypy, when installed"
	@echo "make check      Django system checks + no missing migrations"
	@echo "make migrate    apply migrations to DATABASE_URL (default: SQLite under var/)"
	@echo "make worker     Celery worker with beat"
	@echo "make bench      bench/run_all.py"
	@echo "make lock       re-resolve requirements.lock (ARGS=--upgrade to take newer versions)"

# --- virtualenv ------------------------------------------------------------------------------

venv: $(STAMP)

$(STAMP): requirements.lock pyproject.toml
	@if ! $(PY) -c '' 2>/dev/null; then \
	    echo "creating $(VENV) with $(VENV_PYTHON)"; \
	    $(VENV_PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
	        || { echo "error: $(VENV_PYTHON) is not Python >= 3.11 (set VENV_PYTHON=...)" >&2; exit 1; }; \
	    rm -rf $(VENV); \
	    if ! $(VENV_PYTHON) -m venv $(VENV); then \
	        rm -rf $(VENV); \
	        if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	            echo "installing python3-venv (ensurepip) with apt-get"; \
	            apt-get -q -o DPkg::Lock::Timeout=300 update \
	            && DEBIAN_FRONTEND=noninteractive apt-get -q -o DPkg::Lock::Timeout=300 install -y \
	                --no-install-recommends python3-venv \
	            && $(VENV_PYTHON) -m venv $(VENV) || exit 1; \
	        else \
	            echo "error: could not create $(VENV); on Debian: apt-get install python3-venv" >&2; exit 1; \
	        fi; \
	    fi; \
	fi
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.lock
	$(PY) -m pip install --quiet --disable-pip-version-check --no-deps -e .
	@$(PY) -c "$$CHECK_LOCK"
	@touch $(STAMP)

# Fails `make venv` when pyproject.toml asks for a package (runtime or dev) the lock lacks.
define CHECK_LOCK
import importlib.metadata as md, sys
from packaging.requirements import Requirement
stale = []
for spec in md.requires("tracemark") or []:
    req = Requirement(spec)
    if req.marker and not req.marker.evaluate({"extra": "dev"}):
        continue
    try:
        have = md.version(req.name)
    except md.PackageNotFoundError:
        have = None
    if have is None or not req.specifier.contains(have, prereleases=True):
        stale.append(f"{req} (installed: {have})")
if stale:
    sys.exit("requirements.lock does not satisfy pyproject.toml, run `make lock`:\n  " + "\n  ".join(stale))
endef
export CHECK_LOCK

# Re-resolve the lock with uv (from PyPI) in a throwaway venv; the existing pins are kept unless
# ARGS asks otherwise: `make lock ARGS=--upgrade`, `make lock ARGS="--upgrade-package django"`.
lock:
	@tmp=$$(mktemp -d) && trap 'rm -rf "$$tmp"' EXIT \
	&& $(VENV_PYTHON) -m venv "$$tmp" \
	&& "$$tmp/bin/pip" install --quiet --disable-pip-version-check "uv==$(UV_VERSION)" \
	&& "$$tmp/bin/uv" pip compile pyproject.toml --extra dev --python-version 3.11 \
	    --python-platform x86_64-unknown-linux-gnu --custom-compile-command "make lock" \
	    --quiet -o requirements.lock $(ARGS) \
	&& echo "requirements.lock: $$(grep -c '^[a-z]' requirements.lock) pinned packages"

# --- running ---------------------------------------------------------------------------------

run: venv
	PORT=$(PORT) $(PY) -m config.embedded $(ARGS)

migrate: venv
	$(PY) manage.py migrate $(ARGS)

worker: venv
	$(VENV)/bin/celery -A config worker -B -Q celery,reports -l info $(ARGS)

bench: venv
	@if [ -f bench/run_all.py ]; then $(PY) bench/run_all.py $(ARGS); \
	else echo "bench: bench/run_all.py does not exist yet"; fi

# --- quality ---------------------------------------------------------------------------------

# Logic (system packages, PostgreSQL/Redis, both passes, summary) lives in .ci/test.sh.
test:
	@bash .ci/test.sh $(ARGS)

lint: venv
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: venv
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

typecheck: venv
	@if [ -x $(VENV)/bin/mypy ]; then $(VENV)/bin/mypy config catalog lineage reports $(ARGS); \
	else echo "typecheck: mypy is not installed in $(VENV) (not in the dev extras); skipped"; fi

check: venv
	$(PY) manage.py check
	$(PY) manage.py makemigrations --check --dry-run
