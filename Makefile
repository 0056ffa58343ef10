# badger-book: `make book` builds the book (quick mode), `make test` runs every test.
# Both create .venv from requirements.txt on first use and reuse it until requirements change.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
EMBED := _static/embed.js
MATHJAX := _extra/mathjax/tex-svg.js
ASSETS := $(EMBED) $(MATHJAX)
BADGER_MODE ?= quick
export BADGER_MODE

.PHONY: book book-full test bench lab clean

$(STAMP): requirements.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements.txt
	$(BIN)/pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
	touch $@

# Scripts the HTML needs, taken from the npm registry at build time (not committed), so the
# built book renders offline: the one that draws ipywidgets from their embedded state, and
# MathJax (the SVG build carries its fonts inside, so one file is enough).
npm_file = @mkdir -p $(dir $@) && tmp=$$(mktemp -d) \
	&& (cd $$tmp && npm pack --silent $(1) >/dev/null && tar xzf *.tgz) \
	&& cp $$tmp/package/$(2) $@.tmp && mv $@.tmp $@ && rm -rf $$tmp

$(EMBED):
	$(call npm_file,@jupyter-widgets/html-manager@1.0.6,dist/embed.js)

$(MATHJAX):
	$(call npm_file,mathjax@3.2.2,es5/tex-svg.js)

book: $(STAMP) $(ASSETS)
	$(BIN)/jupyter-book build . -W --keep-going

book-full:
	$(MAKE) book BADGER_MODE=full

test: $(STAMP) $(ASSETS)
	$(BIN)/python -m pytest

bench: $(STAMP)
	$(BIN)/python -m benchmarks

lab: $(STAMP)
	$(BIN)/jupyter lab book/

clean:
	rm -rf _build
