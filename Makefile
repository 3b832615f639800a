# `make` installs into .venv if needed and builds the course; `make test` runs every test.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
INSTALLED := $(VENV)/.installed
SUDO := $(shell [ "$$(id -u)" = 0 ] || command -v sudo)
PYTEST_ARGS ?=
TEST_JOBS ?= 2  # pytest-xdist workers; tests that share the site or the sandbox pin themselves to one

.PHONY: all install system-deps exercises site check-leaks check-release test lock clean

all: site check-leaks

# constraints.txt is the lock: the exact versions the tests passed with (`make lock` refreshes it)
$(INSTALLED): pyproject.toml constraints.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet -c constraints.txt --upgrade pip
	$(PY) -m pip install --quiet -c constraints.txt -e '.[dev]'
	touch $@

install: $(INSTALLED)

# Debian packages the tests use: bubblewrap (grading sandbox), chromium (browser tests),
# postgresql (sharded grading into one gradebook), fonts-noto-cjk (Chinese text in pages and figures).
# Installed only where missing.
system-deps:
	@missing=""; \
	command -v bwrap >/dev/null || missing="$$missing bubblewrap"; \
	command -v chromium >/dev/null || missing="$$missing chromium"; \
	ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1 || missing="$$missing postgresql"; \
	fc-list :lang=zh 2>/dev/null | grep -q . || missing="$$missing fonts-noto-cjk"; \
	if [ -n "$$missing" ]; then \
		echo "installing Debian packages:$$missing"; \
		$(SUDO) apt-get update -qq && \
		$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing && \
		rm -rf "$${MPLCONFIGDIR:-$$HOME/.cache/matplotlib}"/fontlist-*.json; \
	fi  # matplotlib's font list predates a font installed now

exercises: $(INSTALLED)
	$(VENV)/bin/mlcourse release

site: exercises  # English at _build/html, Chinese (zh_CN/) at _build/html/zh_CN
	$(VENV)/bin/mlcourse site

check-leaks: site
	$(VENV)/bin/mlcourse check-leaks

check-release: check-leaks  # the old name

test: $(INSTALLED) system-deps
	$(PY) -m pytest -n $(TEST_JOBS) --dist loadgroup $(PYTEST_ARGS)

# re-resolve pyproject.toml in a throw-away venv, run every test with it, rewrite constraints.txt if they pass
lock: system-deps
	$(PYTHON) tools/lock.py $(PYTEST_ARGS)

clean:
	rm -rf _build
