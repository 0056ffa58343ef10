# badger-book: `make book` builds the book (quick mode), `make test` runs every test.
# Both create .venv from requirements.txt on first use and reuse it until requirements change.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# The ipywidgets script sits on the extra path (see _config.yml), with the Font Awesome 5 webfonts
# its stylesheet loads from next to it (names are content hashes of html-manager 1.0.6's dist/;
# without them each widget page 404ed on the solid face: .woff2, .woff, then .ttf). EMBED_FONT
# stands for them all: its recipe copies every one.
EMBED := _extra/widgets/embed.js
EMBED_FONT := _extra/widgets/1551f4f60c37af51121f.woff2
MATHJAX := _extra/mathjax/tex-svg.js
ASSETS := $(EMBED) $(EMBED_FONT) $(MATHJAX)
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
	@rm -f _static/embed.js  # its old place, where Jupyter Book would still add it to every page

$(EMBED_FONT):
	@mkdir -p $(dir $@) && tmp=$$(mktemp -d) \
		&& (cd $$tmp && npm pack --silent @jupyter-widgets/html-manager@1.0.6 >/dev/null && tar xzf *.tgz) \
		&& cp $$tmp/package/dist/*.woff2 $$tmp/package/dist/*.woff $$tmp/package/dist/*.ttf $(dir $@) \
		&& rm -rf $$tmp

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
