# badger-book: `make book` builds the book (quick mode), `make test` runs every test.
# Both create .venv from requirements.txt on first use and reuse it until requirements change.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
EMBED := _static/embed.js
HTML_MANAGER := @jupyter-widgets/html-manager@1.0.6
BADGER_MODE ?= quick
export BADGER_MODE

.PHONY: book book-full test bench lab clean

$(STAMP): requirements.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements.txt
	$(BIN)/pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
	touch $@

# The script that draws ipywidgets in static HTML, taken from the npm registry at build time
# (not committed), so the built book shows its widgets offline.
$(EMBED):
	@mkdir -p _static
	tmp=$$(mktemp -d) && (cd $$tmp && npm pack --silent $(HTML_MANAGER) >/dev/null && tar xzf *.tgz) \
	  && cp $$tmp/package/dist/embed.js $@.tmp && mv $@.tmp $@ && rm -rf $$tmp

book: $(STAMP) $(EMBED)
	$(BIN)/jupyter-book build . -W --keep-going

book-full:
	$(MAKE) book BADGER_MODE=full

test: $(STAMP) $(EMBED)
	$(BIN)/python -m pytest

bench: $(STAMP)
	$(BIN)/python -m benchmarks

lab: $(STAMP)
	$(BIN)/jupyter lab book/

clean:
	rm -rf _build
