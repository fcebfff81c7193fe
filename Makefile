# PackBench: `make run` starts the station, `make test` runs the whole suite.
# Both create .venv and install the pinned dependencies on first use.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)

.PHONY: run test lint bench dist screenshots clean

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "PackBench needs Python 3.11 or newer")'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	rm -f $(VENV)/.installed-*
	touch $(STAMP)

# Qt's own message for a missing xcb library names the wrong one; this names each missing library
# and prints the apt-get line that installs them (qt_platform_check.py), before the window is tried.
# `make run INSTALL_QT_LIBS=yes`, as root, runs that apt-get line itself (the consent is the flag).
run: $(STAMP)
	@$(BIN)/python qt_platform_check.py $(if $(INSTALL_QT_LIBS),--install)
	$(BIN)/packbench $(ARGS)

test: $(STAMP)
	QT_QPA_PLATFORM=offscreen $(BIN)/python -m pytest $(PYTEST_ARGS)

# Every benchmark in quick mode (~1 min; the first run also builds the cached stores of 10^4 and 10^5
# orders). Quick figures are a smoke test and write no bench/out/*.json; full runs: bench/README.md.
bench: $(STAMP)
	$(BIN)/python -m bench.lookup --quick --no-json
	$(BIN)/python -m bench.scan_latency --quick --no-json
	$(BIN)/python -m bench.cold_start --quick --no-json
	$(BIN)/python -m bench.import_shopify --quick --no-json
	$(BIN)/python -m bench.labels --quick --no-json

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy app drivers protocol sync server ui main.py wiring.py selftest.py doctor.py qt_platform_check.py

# README's screenshots from the current build: the demo station offscreen, in Chinese and English.
screenshots: $(STAMP)
	QT_QPA_PLATFORM=offscreen $(BIN)/python -m ui.screenshot --all docs/screenshots

# The station as a folder that runs without Python: dist/packbench/packbench (see installer/).
# Prove it with `dist/packbench/packbench --self-test` (QT_QPA_PLATFORM=offscreen on a headless box).
dist: $(STAMP)
	$(BIN)/pyinstaller --noconfirm --clean --log-level WARN --distpath dist --workpath build/pyinstaller \
		installer/packbench.spec

clean:
	rm -rf $(VENV) build dist *.egg-info
