# The two commands of the README: `make run` and `make test`. Everything else here serves them.
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
PYTEST_ARGS ?=

.PHONY: run test suite lint openapi messages clean

run: $(STAMP)
	$(BIN)/makercloud up --demo

test: $(STAMP) chromium
	$(MAKE) --no-print-directory lint
	$(MAKE) --no-print-directory suite

suite: $(STAMP)
	$(BIN)/pytest $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check src tests bench examples conftest.py
	$(BIN)/mypy

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || "$$(scripts/find-python)" -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

# Browser tests drive Debian's Chromium; it is installed from Debian, never downloaded by Playwright.
.PHONY: chromium
chromium:
	@command -v chromium >/dev/null 2>&1 || { $(SUDO) apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq chromium >/dev/null; }

openapi: $(STAMP)
	$(BIN)/makercloud manage export_openapi_schema --api makercloud.config.api.api --indent 2 --sorted \
		--output docs/openapi.json

messages: $(STAMP)
	cd src/makercloud && export MAKERCLOUD_DATA_DIR=$(CURDIR)/var && \
		../../$(BIN)/makercloud manage makemessages -l zh_Hans && ../../$(BIN)/makercloud manage compilemessages

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
