# The two commands of the README quickstart:  make demo  and  make test
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: setup system-deps demo test docs bench clean

setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	python3 -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	touch $@

# Debian's chromium drives the browser tests (Playwright never downloads a browser here).
system-deps:
	bash scripts/install-system-deps.sh

demo: setup
	$(BIN)/copyright-guard demo

# The documentation site (mkdocs.yml, docs/): --strict makes a broken link, a missing page or a
# stale anchor an error, so `make test` (and CI) fail on them. site/ is git-ignored.
docs: setup
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict --quiet --site-dir site

test: setup system-deps docs
	$(BIN)/python -m pytest

bench: setup
	bash benchmarks/run_all.sh

clean:
	rm -rf $(VENV) .pytest_cache site copyright-guard.db*
