# The two commands: `make run` and `make test`. Each creates .venv and installs what it needs.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: run test lint venv schema check-schema contract seed seed-standard bench bench-compare stop graphiql-assets docs clean \
	docker-base-images docker-smoke

$(STAMP): requirements.txt requirements-dev.txt
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11+ is required")'
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	@touch $(STAMP)

venv: $(STAMP)

## Serve HTTP + websockets on http://127.0.0.1:8000 (embedded PostgreSQL and Redis unless DATABASE_URL/REDIS_URL are set).
run: $(STAMP)
	$(PY) config/run.py

## The import contracts (.importlinter): the layers of docs/architecture.md; a cycle fails.
lint: $(STAMP)
	$(VENV)/bin/lint-imports

## The whole test suite (embedded services unless DATABASE_URL/REDIS_URL are set), after the import contracts.
test: lint
	REDIS_KEY_PREFIX=$${REDIS_KEY_PREFIX:-test} $(VENV)/bin/pytest $(PYTEST_ARGS)

## Rewrite schema/schema.graphql from the code; check it against the contract.
schema: $(STAMP)
	$(PY) manage.py print_schema
	$(PY) ../shared/tools/contract-check schema/schema.graphql || true

check-schema: $(STAMP)
	$(PY) manage.py print_schema --check

contract: $(STAMP)
	$(PY) ../shared/tools/contract-check schema/schema.graphql

seed: $(STAMP)
	$(PY) manage.py seed --size demo

seed-standard: $(STAMP)
	$(PY) manage.py seed --size standard

bench: $(STAMP)
	$(PY) bench/run.py

## The project against PostGraphile 5 on the same database (docs/benchmarks.md): seeds or reuses the standard
## data set, checks both return the same page, alternating quiet-gated rounds; the table, docs/benchmarks/compare.{json,png,svg}.
## BENCH_ARGS="--quick" checks the harness on the demo data in a couple of minutes (writes bench/results/).
bench-compare: $(STAMP)
	$(PY) -m bench.compare $(BENCH_ARGS)

## Stop embedded PostgreSQL/Redis left running by an interrupted command.
stop: $(STAMP)
	$(PY) -c 'from config import embedded as e; [s.stop() for s in (e.postgres, e.redis_server) if s.is_running()]'

## Local base and service images for Docker where no registry is reachable (built once; root, Docker engine).
docker-base-images:
	bash tools/docker/base-images.sh

## Build the image and the compose stack here, check query/mutation/subscription/Celery through the balancer, tear down.
docker-smoke: $(STAMP)
	bash tools/docker/smoke.sh

## Re-vendor GraphiQL's assets from npm into schema/static/graphiql (needs node and npm).
graphiql-assets:
	bash tools/graphiql/update.sh

## Print schema/schema.graphql, then regenerate the API reference served at /docs/ (needs node and npm).
docs: $(STAMP)
	$(PY) manage.py print_schema
	bash tools/apidocs/generate.sh

clean:
	rm -rf $(VENV) staticfiles .pytest_cache
