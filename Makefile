# Two commands a person needs: `make demo` and `make test`. Each sets itself up.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
TOOLS := .tools
# The Claude Code CLI version the tests run against (installed project-locally, never globally).
CLAUDE_CODE_VERSION ?= 2.1.328
CLAUDE_BIN := $(TOOLS)/claude-code/node_modules/.bin/claude

.PHONY: demo test venv claude-cli lint bench clean

venv: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

# The real Claude Code CLI for the agent tests. Without npm it is skipped locally;
# under CI=true a missing CLI fails the run (the tests refuse to skip).
claude-cli: $(CLAUDE_BIN)

$(CLAUDE_BIN):
	@if command -v npm >/dev/null 2>&1; then \
		mkdir -p $(TOOLS)/claude-code && \
		npm install --silent --no-audit --no-fund --prefix $(TOOLS)/claude-code \
			@anthropic-ai/claude-code@$(CLAUDE_CODE_VERSION); \
	else \
		echo "npm not found: skipping the Claude Code CLI (its tests will skip locally)"; \
	fi

demo: venv
	$(PY) -m coffee_maker demo

test: venv claude-cli
	$(PY) -m pytest

lint: venv
	$(VENV)/bin/ruff check coffee_maker tests bench scripts
	$(VENV)/bin/mypy

bench: venv
	$(PY) bench/run_all.py

clean:
	rm -rf $(VENV) $(TOOLS) .pytest_cache .mypy_cache .ruff_cache
