# Two commands: `make run` (demo portal on http://127.0.0.1:5000) and `make test` (whole suite,
# SQLite and PostgreSQL).  python3 >= 3.11 and make are the only prerequisites.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
SUDO   := $(shell [ "$$(id -u)" = 0 ] || command -v sudo)
BROWSER_PACKAGES := chromium chromium-driver fonts-noto-cjk

.PHONY: run test bench clean browser

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

# The browser tests drive Debian's Chromium (with CJK fonts, or Chinese renders as boxes).  Under CI
# (CI=1/true/yes/on) `make test` installs it when missing and the browser tests must run; elsewhere
# they are skipped with the reason unless the packages are there.
browser:
	@case "$$(printf %s "$${CI:-}" | tr A-Z a-z)" in 1|true|yes|on) \
	  dpkg -s $(BROWSER_PACKAGES) >/dev/null 2>&1 || \
	  { $(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq $(BROWSER_PACKAGES); } ;; \
	esac

test: $(VENV)/.installed-dev browser
	$(BIN)/python -m pytest

bench: $(VENV)/.installed-dev
	$(BIN)/python bench/demo_load.py --quick

clean:
	rm -rf $(VENV) instance
