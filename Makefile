# The two README commands: `make book` (build the whole book on the default profile) and
# `make test` (the library tests, the notebooks under nbval on the smoke profile, the book build).
# Each creates .venv when it is missing and installs the pinned requirements; a second run reuses
# the venv and reinstalls only when requirements.txt or pyproject.toml changed.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
PROFILE ?= mini
DEVICE  ?= auto
NOTEBOOKS := $(sort $(wildcard notebooks/[0-9][0-9]_*.py))
export PYTHONUNBUFFERED := 1

JOBS    ?= 2
ONLY_STALE ?=
BOOKPAGES := $(BIN)/python -m redundancy.bookpages
BROWSER   := $(BIN)/python -m redundancy.browser

.PHONY: help venv models book notebooks html pages test test-lib test-notebooks test-book test-browser sync clean clean-cache

help:
	@echo "make book     execute every notebook (PROFILE=$(PROFILE), DEVICE=$(DEVICE)) and build _build/html"
	@echo "make models   train the profile's models from scratch and publish them in models/PROFILE (mini: about 3.4 h on 2 cores)"
	@echo "              ONLY_STALE=1: retrain only the models that are missing, stale (their recipe changed) or corrupt"
	@echo "make test     library tests, notebooks under nbval (smoke profile), book build with -W, browser test"
	@echo "make sync     re-pair notebooks/*.py -> .ipynb (keeps outputs)"

venv: $(STAMP)

$(STAMP): requirements.txt pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -c 'import shutil, sys; free = shutil.disk_usage(".").free / 2**30; \
	  free < 12 and print(f"warning: {free:.1f} GiB free here; a new venv needs about 12 GiB while pip works (torch with its CUDA libraries is 7.6 GiB installed, plus the downloaded wheels)", file=sys.stderr)'
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --no-cache-dir --upgrade pip
	@# --no-cache-dir: pip's download cache would keep another copy of the 3.5 GB of wheels on disk
	$(BIN)/python -m pip install --quiet --no-cache-dir --no-compile -r requirements.txt
	@# pip byte-compiles on one core (about 55 s here); compileall on every core (about 33 s on 2)
	$(BIN)/python -m compileall -q -j 0 "$$($(BIN)/python -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')" >/dev/null \
	  || echo "compileall: some files did not byte-compile (pip skips those as well); they compile when imported"
	$(BIN)/python -m pip install --quiet --no-deps -e .
	$(BIN)/python -m ipykernel install --sys-prefix --name python3 --display-name "Python 3 (redundancy)" >/dev/null
	@touch $@

# --- the models (train once; the book analyses the published ones) --------------------------
models: $(STAMP)
	$(BIN)/python -m redundancy models --profile $(PROFILE) --device $(DEVICE) --jobs $(JOBS) $(if $(ONLY_STALE),--only-stale)

# --- the book -------------------------------------------------------------------------------
book: notebooks html
	@echo "Book built: open file://$(CURDIR)/_build/html/index.html"

notebooks: $(STAMP)
	$(BIN)/python -m redundancy.notebook_tools execute --profile $(PROFILE) --device $(DEVICE) $(NOTEBOOKS)

# The landing page's scorecard and the status page are generated from the executed notebooks.
pages: $(STAMP)
	$(BOOKPAGES)

html: pages
	$(BIN)/jupyter-book build . -W --keep-going --builder html

sync: $(STAMP)
	$(BIN)/jupytext --sync $(NOTEBOOKS)

# --- the tests ------------------------------------------------------------------------------
test: test-lib test-notebooks test-book test-browser

test-lib: $(STAMP)
	REDUNDANCY_PROFILE=smoke $(BIN)/python -m pytest tests -q -p no:cacheprovider

test-notebooks: $(STAMP)
	rm -rf _build/nbval && $(BIN)/python -m redundancy.notebook_tools prepare-nbval --out _build/nbval $(NOTEBOOKS:.py=.ipynb)
	REDUNDANCY_PROFILE=smoke $(BIN)/python -m pytest --nbval-lax -q -p no:cacheprovider --nbval-current-env _build/nbval

test-book: pages
	rm -rf _build/testbook && $(BIN)/jupyter-book build . -W --keep-going --builder html --path-output _build/testbook
	test -f _build/testbook/_build/html/index.html

# Headless Chromium opens every page of the built book (skips with a message when no Chromium is
# installed, except under CI=1, where .ci/run installs it).
test-browser: $(STAMP)
	$(BROWSER) _build/testbook/_build/html --screenshots _build/screenshots

clean:
	rm -rf _build

clean-cache:
	rm -rf .cache/redundancy
