# Two commands on a fresh machine with Python 3.11 and make: `make run` and `make test`.
# Both bootstrap a pinned uv into .tools/ and the locked environment into .venv/.
PYTHON ?= python3
UV := .tools/bin/uv
export LITELLM_LOCAL_MODEL_COST_MAP := True
# The interpreter itself, not a shim: uv rebuilds .venv when the path it was made with changes.
export UV_PYTHON := $(shell $(PYTHON) -c 'import sys; print(sys.executable)')
export UV_PYTHON_DOWNLOADS := never

.PHONY: run test lint bench env services dashboard

$(UV): tools/bootstrap-requirements.txt
	$(PYTHON) -m venv .tools
	.tools/bin/pip install --quiet --require-hashes -r tools/bootstrap-requirements.txt
	touch $(UV)

.venv/.synced: $(UV) uv.lock pyproject.toml $(wildcard */pyproject.toml)
	$(UV) sync --frozen --all-packages
	touch .venv/.synced

env: .venv/.synced

# GATEWAY_WORKERS=N (from the environment or `make run GATEWAY_WORKERS=N`): N worker processes.
# The dashboard is built on first use (Node >= 20; cached) and served at /ui/; without
# Node the gateway runs without it, and says so.
run: env
	@if tools/build-dashboard.sh; then ui="$(CURDIR)/dashboard/out"; \
	else echo "serving the gateway without the dashboard (/ui/)"; ui=""; fi; \
	GATEWAY_UI_DIR="$$ui" exec .venv/bin/llm-proxy run

dashboard: env
	tools/build-dashboard.sh

# The tests use PostgreSQL on 127.0.0.1:5432 and Redis on 127.0.0.1:6379: the machine's
# Debian ones are started first when they are down (`make services` alone does just that).
# The tests start hundreds of interpreters (gateways, simulators, services): each may keep
# the bytecode it compiles, or, where the environment says not to, every one would compile
# LiteLLM again (about 5 s of CPU each).
test: export PYTHONDONTWRITEBYTECODE :=
test: env services
	.venv/bin/pytest -q

lint: env
	.venv/bin/ruff check .
	.venv/bin/ruff format --check .
	.venv/bin/mypy
	.venv/bin/lint-imports --no-cache

bench: env
	.venv/bin/python -m bench.run

services:
	tools/ensure-services.sh
