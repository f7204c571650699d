# Two commands a person needs: `make demo` and `make test`. Each sets itself up.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
TOOLS := .tools
# The Claude Code CLI version the tests run against (installed project-locally, never globally).
CLAUDE_CODE_VERSION ?= 2.1.328
CLAUDE_BIN := $(TOOLS)/claude-code/node_modules/.bin/claude

.PHONY: demo test venv claude-cli sys-deps lint bench clean

venv: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

# The real Claude Code CLI for the agent tests. Without npm it is skipped locally;
# under CI=true a missing CLI fails the run (the tests refuse to skip). The stamp
# carries the version, so changing the pin reinstalls. npm must run the postinstall
# step and pull the platform's optional dependency (the native binary): never pass
# --ignore-scripts or --omit=optional here.
CLAUDE_STAMP := $(TOOLS)/claude-code/.installed-$(CLAUDE_CODE_VERSION)

claude-cli: $(CLAUDE_STAMP)

$(CLAUDE_STAMP):
	@if command -v npm >/dev/null 2>&1; then \
		mkdir -p $(TOOLS)/claude-code && \
		npm install --silent --no-audit --no-fund --prefix $(TOOLS)/claude-code \
			@anthropic-ai/claude-code@$(CLAUDE_CODE_VERSION) && \
		$(CLAUDE_BIN) --version && rm -f $(TOOLS)/claude-code/.installed-* && touch $@; \
	else \
		echo "npm not found: skipping the Claude Code CLI (its tests will skip locally)"; \
	fi

# System packages the tests need: a session D-Bus (desktop-notification tests) and GitHub's
# `gh` CLI (the gh forge provider, driven against a local fake), Chromium and its driver (the web dashboard
# tests, a real headless browser). Installed only when missing,
# and only as root or under CI=true; otherwise those tests skip and say why.
SYS_PACKAGES := dbus-daemon:dbus gh:gh chromium:chromium chromedriver:chromium-driver

sys-deps:
	@missing=""; for pair in $(SYS_PACKAGES); do 		command -v $${pair%%:*} >/dev/null 2>&1 || missing="$$missing $${pair##*:}"; 	done; 	if [ -n "$$missing" ]; then 		if [ "$$(id -u)" = 0 ] || [ "$${CI:-}" = true ]; then 			SUDO=$$([ "$$(id -u)" = 0 ] || echo sudo); 			$$SUDO apt-get update -qq >/dev/null && 			DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends $$missing >/dev/null; 		else 			echo "missing system packages:$$missing — their tests will skip (apt-get install$$missing)"; 		fi; 	fi

demo: venv
	$(PY) -m coffee_maker demo

# The suite mostly waits on subprocesses (git, the claude CLI, daemons), so four workers on two
# cores finish it in about half the time of one (docs/tech_decisions/test-runner.md).
TEST_WORKERS ?= 4

test: venv claude-cli sys-deps
	$(VENV)/bin/lint-imports --no-cache
	$(PY) -m pytest -n $(TEST_WORKERS)

lint: venv
	$(VENV)/bin/ruff check coffee_maker tests bench scripts
	$(VENV)/bin/mypy
	$(VENV)/bin/lint-imports --no-cache

# Benchmarks print medians/percentiles; results and commands are in docs/benchmarks.md.
bench: venv
	@for b in bench/bench_*.py; do echo "== $$b"; $(PY) $$b || exit 1; done

clean:
	rm -rf $(VENV) $(TOOLS) .pytest_cache .mypy_cache .ruff_cache
