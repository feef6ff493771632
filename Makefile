# The two commands of the README quickstart:  make demo  and  make test
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: setup system-deps demo test bench clean

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

test: setup system-deps
	$(BIN)/python -m pytest

bench: setup
	bash benchmarks/run_all.sh

clean:
	rm -rf $(VENV) .pytest_cache copyright-guard.db*
