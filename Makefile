# Two entry points: `make run` and `make test`. Both build .venv on first use.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test bench lint install clean postgres

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# torch first, pinned: pip then takes the CPU wheel on disk instead of a multi-GB CUDA build.
# Then the encoder is exported once to ONNX, so that a process answering questions starts fast.
$(STAMP): $(BIN)/python pyproject.toml
	$(BIN)/pip install --quiet torch==2.13.0
	$(BIN)/pip install --quiet -e '.[test]'
	$(BIN)/python -m bot.core.embed
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(BIN)/marketbot run

lint: $(STAMP)
	$(BIN)/ruff check bot tests bench
	$(BIN)/mypy

# The tests start a PostgreSQL server of their own on 127.0.0.1; as root, Debian's package is
# installed when missing. Without it those tests skip and say why.
postgres:
	@ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || command -v initdb >/dev/null || \
	  { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null && \
	    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql \
	    >/dev/null) || echo "PostgreSQL not installed: its tests will skip"; }

test: $(STAMP) lint postgres
	$(BIN)/pytest -q

bench: $(STAMP)
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) data .pytest_cache .mypy_cache .ruff_cache
