# Two commands: `make run` (demo portal on http://127.0.0.1:5000) and `make test` (whole suite,
# SQLite and PostgreSQL).  python3 >= 3.11 and make are the only prerequisites.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
SUDO   := $(shell [ "$$(id -u)" = 0 ] || command -v sudo)
BROWSER_PACKAGES := chromium chromium-driver fonts-noto-cjk
SERVER_PACKAGES  := redis-server

.PHONY: run test bench clean browser vendor

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# The stamps depend on pyproject.toml, so a changed dependency list reinstalls on the next run.
$(VENV)/.installed-run: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet --disable-pip-version-check -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet --disable-pip-version-check -e '.[dev]'
	touch $@ $(VENV)/.installed-run

# Browser libraries (chart.js for the charts, WeUI's styles for the resident pages) are pinned in
# package-lock.json, installed by `npm ci` and served from static/vendor (the CSP allows scripts and
# styles from the site only: no CDN).
VENDOR := static/vendor/chart.umd.min.js static/vendor/weui.min.css

$(VENDOR) &: package-lock.json
	npm ci --no-audit --no-fund
	mkdir -p static/vendor
	cp node_modules/chart.js/dist/chart.umd.min.js node_modules/weui/dist/style/weui.min.css static/vendor/

# Under CI `make test` installs them (the browser tests draw the charts), and Debian's npm when missing;
# elsewhere only `make run` needs npm.
vendor:
	@case "$$(printf %s "$${CI:-}" | tr A-Z a-z)" in 1|true|yes|on) \
	  command -v npm >/dev/null || { $(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq npm; }; \
	  $(MAKE) --no-print-directory $(VENDOR) ;; \
	esac

run: $(VENV)/.installed-run $(VENDOR)
	$(BIN)/dianfei db upgrade
	$(BIN)/dianfei demo load --if-empty
	$(BIN)/dianfei run

# The browser tests drive Debian's Chromium (with CJK fonts, or Chinese renders as boxes); the jobs
# test starts Debian's redis-server as the Celery broker.  Under CI (CI=1/true/yes/on) `make test`
# installs them when missing and those tests must run; elsewhere they are skipped with the reason
# unless the packages are there.
browser:
	@case "$$(printf %s "$${CI:-}" | tr A-Z a-z)" in 1|true|yes|on) \
	  dpkg -s $(BROWSER_PACKAGES) $(SERVER_PACKAGES) >/dev/null 2>&1 || \
	  { $(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq $(BROWSER_PACKAGES) $(SERVER_PACKAGES); } ;; \
	esac

test: $(VENV)/.installed-dev browser vendor
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
	rm -rf $(VENV) instance node_modules static/vendor
