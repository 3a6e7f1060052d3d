# SLA Hub — the two commands in README.md: `make run` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test fuzz install lint format bench migrate check-migrations clean

$(STAMP): requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $(STAMP)

install: $(STAMP)

# Web server, Celery worker and beat on the embedded default (SQLite, filesystem broker),
# or on PostgreSQL/Redis when DATABASE_URL/REDIS_URL are set. Ctrl-C stops them all.
run: export DEBUG ?= 1
run: $(STAMP)
	mkdir -p var/broker var/broker-control
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py seed_demo --if-empty
	$(BIN)/honcho start -f Procfile.dev

test: $(STAMP)
	$(BIN)/python -m pytest -n 2 --dist loadfile $(PYTEST_ARGS)

# The API against its own OpenAPI schema alone (schemathesis, 100 examples per operation,
# part of `make test` too): SLAHUB_FUZZ_EXAMPLES, SLAHUB_FUZZ_SECONDS tune it.
fuzz: $(STAMP)
	$(BIN)/python -m pytest tests/api/test_api_schema.py -q $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	@# Security: bandit (medium and high findings; each one left is justified in a nosec
	@# comment) and pip-audit (skipped with a message when its advisory service is
	@# unreachable). bandit's stderr warning for each nosec line it also checked is cut.
	$(BIN)/bandit -c pyproject.toml -r . --quiet --severity-level medium 2>.bandit.err; \
	  status=$$?; grep -v 'nosec encountered' .bandit.err >&2; rm -f .bandit.err; exit $$status
	$(BIN)/python scripts/pip_audit.py

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

check-migrations: $(STAMP)
	DEBUG=1 $(BIN)/python manage.py makemigrations --check --dry-run

bench: $(STAMP)
	$(BIN)/python -m benchmarks.run

clean:
	rm -rf $(VENV) var staticfiles
