# Two commands start everything on a fresh clone:
#   make lab    - set up .venv (first time only) and open JupyterLab on notebooks/
#   make test   - set up .venv (first time only), run unit tests and execute every notebook
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
KERNEL := lecture05

# Notebooks always run offline and on the default (fast) profile in tests and renders.
RUN_ENV  := LECTURE_ALLOW_DOWNLOAD=0 HF_HUB_OFFLINE=1 PYTHONHASHSEED=0
# Tests need no pictures: the Agg backend skips rendering them (make html keeps the inline backend).
TEST_ENV := $(RUN_ENV) MPLBACKEND=Agg

.PHONY: lab test unit notebooks devices gpu-check html results lint exercises slides slide-tools clean-build help lock

help:
	@echo "make lab     - open the course in JupyterLab (sets up .venv on first run)"
	@echo "make test    - unit tests + every notebook executed (CPU, emulated CUDA and MPS) + browser checks"
	@echo "make gpu-check - on a machine with a GPU: every notebook on it, compared with the CPU run"
	@echo "make html    - execute notebooks and render them to build/html/"
	@echo "make results - write the numbers measured by the last run into README.md"
	@echo "make lint    - ruff over the package, tests, scripts and notebooks"
	@echo "make lock    - resolve the newest releases pyproject.toml allows into constraints.txt (then run make test)"
	@echo "make exercises - student notebooks with the solutions stubbed, in build/exercises/"
	@echo "make slides  - a reveal.js deck per notebook in build/slides/ (from make test's executed notebooks when current)"

# The stamp is rebuilt only when the dependency list changes, so a second run installs nothing.
# constraints.txt pins every package to the release the course was tested with (make lock refreshes it).
$(STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet -c constraints.txt -e ".[dev,text]"
	$(BIN)/python -m ipykernel install --sys-prefix --name $(KERNEL) --display-name "Lecture 05 (.venv)" >/dev/null
	touch $(STAMP)

# Jupyter refuses to run as root unless told; containers and CI machines often are root.
LAB_FLAGS := $(if $(filter 0,$(shell id -u)),--allow-root,)

# A fresh environment without the pins, resolved anew, written back as the pins. Run make test after it
# and commit constraints.txt only if everything passes.
lock:
	rm -rf build/lock-venv && $(PYTHON) -m venv build/lock-venv
	build/lock-venv/bin/python -m pip install --quiet -e ".[dev,text]"
	{ sed -n '1,3p' constraints.txt; build/lock-venv/bin/python -m pip freeze --exclude-editable; } > build/constraints.new
	mv build/constraints.new constraints.txt && rm -rf build/lock-venv
	@echo "constraints.txt refreshed: run make test before committing it"

lab: $(STAMP)
	$(BIN)/jupyter lab $(LAB_FLAGS) notebooks/

unit: $(STAMP)
	$(TEST_ENV) $(BIN)/python -m pytest tests -q --ignore=tests/execution --ignore=tests/browser

# Every notebook on the CPU (each check must hold; the executed copies land in build/executed/cpu/
# for the slide decks), then under emulated CUDA and emulated MPS (tests/execution/runner.py).
notebooks: $(STAMP)
	$(RUN_ENV) $(BIN)/python -m pytest tests/execution/test_notebooks.py -q -k "cpu-"

# What emulation proves and how to run on a real GPU: README, "Devices".
devices: $(STAMP)
	$(RUN_ENV) LECTURE_THREADS=1 $(BIN)/python -m pytest tests/test_emulation.py tests/execution -k "not cpu-" -n 2 -q

# A real GPU at hand: every notebook on it, timed, and the metrics that moved beyond tolerance.
gpu-check: $(STAMP)
	$(RUN_ENV) $(BIN)/python scripts/gpu_check.py

test: $(STAMP) slide-tools
	$(BIN)/ruff check lecture_utils tests scripts notebooks
	$(TEST_ENV) $(BIN)/python -m pytest tests -q --ignore=tests/execution --ignore=tests/browser
	$(RUN_ENV) $(BIN)/python -m pytest tests/execution/test_notebooks.py -k "cpu-" -q --durations=0
	$(RUN_ENV) LECTURE_THREADS=1 $(BIN)/python -m pytest tests/execution -k "not cpu-" -n 2 -q --durations=10
	@if [ -d tests/browser ]; then $(TEST_ENV) $(BIN)/python -m pytest tests/browser -q; fi
	$(BIN)/python scripts/update_results.py

html: $(STAMP)
	mkdir -p build/html
	$(RUN_ENV) $(BIN)/jupyter nbconvert --to html --execute --ExecutePreprocessor.timeout=600 \
		--output-dir build/html notebooks/*.ipynb

results: $(STAMP)
	$(BIN)/python scripts/update_results.py --readme

exercises: $(STAMP)
	$(BIN)/python scripts/make_exercises.py

# Offline decks: reveal.js and the scripts it needs come from the npm registry into build/slides/vendor
# (once); the slide tests also need a headless browser, Debian's chromium, installed here when
# possible (root with apt-get). Without npm or chromium the decks use CDNs and the browser test skips.
VENDOR := build/slides/vendor
$(VENDOR)/.installed:
	@mkdir -p $(VENDOR)
	@if command -v npm >/dev/null; then \
		cd $(VENDOR) && npm install --no-audit --no-fund --silent reveal.js@4.6.0 jquery@3.7.1 requirejs@2.3.7 mathjax@2.7.9 \
		&& touch .installed; \
	else echo "npm not found: slide decks will load reveal.js from a CDN"; fi

slide-tools: $(VENDOR)/.installed
	@command -v chromium >/dev/null || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null \
		&& (apt-get update -qq && apt-get install -y -qq chromium >/dev/null) ; } \
		|| echo "chromium not installed: the headless slide check will be skipped"

slides: $(STAMP) slide-tools
	$(RUN_ENV) $(BIN)/python scripts/make_slides.py

lint: $(STAMP)
	$(BIN)/ruff check lecture_utils tests scripts notebooks

clean-build:
	rm -rf build
