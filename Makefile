# `make test` and `make demo` do all set-up themselves: a fresh clone needs nothing else.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

# Prefect: quiet and offline; generous start-up timeouts for loaded 2-core machines.
export PREFECT_SERVER_ANALYTICS_ENABLED := false
export DO_NOT_TRACK := 1
export PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS := 90
export PREFECT_LOGGING_LOGGERS_PREFECT_LEVEL := WARNING
export PREFECT_LOGGING_LOGGERS_PREFECT_FLOW_RUNS_LEVEL := INFO
export PREFECT_LOGGING_LOGGERS_PREFECT_TASK_RUNS_LEVEL := WARNING

.PHONY: install test lint demo clean

install: $(STAMP)

$(STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q -c constraints.txt -e '.[dev]'
	touch $(STAMP)

lint: $(STAMP)
	$(BIN)/ruff check .

test: lint
	$(BIN)/python -m pytest -q

demo: $(STAMP)
	$(BIN)/news-ingest demo

clean:
	rm -rf $(VENV) data/*.duckdb data/prefect
