# Two commands: `make run` (demo portal on http://127.0.0.1:5000) and `make test` (whole suite,
# SQLite and PostgreSQL).  python3 >= 3.11 and make are the only prerequisites.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin

.PHONY: run test bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# The stamps depend on pyproject.toml, so a changed dependency list reinstalls on the next run.
$(VENV)/.installed-run: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet --disable-pip-version-check -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet --disable-pip-version-check -e '.[dev]'
	touch $@ $(VENV)/.installed-run

run: $(VENV)/.installed-run
	$(BIN)/dianfei db upgrade
	$(BIN)/dianfei demo load --if-empty
	$(BIN)/dianfei run

test: $(VENV)/.installed-dev
	$(BIN)/python -m pytest

bench: $(VENV)/.installed-dev
	$(BIN)/python bench/demo_load.py --quick

clean:
	rm -rf $(VENV) instance
