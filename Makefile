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

# `make bench` runs every benchmark in bench/ (each script with a __main__) with --quick: each
# takes under a minute, and the quick figures are what we compare between commits.  It prints each
# one's last line, its JSON result.  Full-size figures: `$(BIN)/python bench/<name>.py`.
BENCHES := $(shell grep -l '__main__' bench/*.py)

bench: $(VENV)/.installed-dev
	@for bench in $(BENCHES); do \
		out=$$($(BIN)/python $$bench --quick) || { echo "make bench: $$bench failed" >&2; exit 1; }; \
		printf '%s\n' "$$out" | tail -n 1; \
	done

clean:
	rm -rf $(VENV) instance
