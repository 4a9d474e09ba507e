# Two commands do all the set-up: `make book` (the main job) and `make test`.
# Each creates or reuses the virtual environment in .venv at the repository root.
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: test book lint clean-book

$(STAMP): pyproject.toml constraints.txt
	@command -v $(PYTHON) >/dev/null || { echo "error: $(PYTHON) not found; run e.g. 'make test PYTHON=python3'"; exit 1; }
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --upgrade pip
	$(PY) -m pip install -c constraints.txt -e '.[dev]'
	$(PY) -m ipykernel install --sys-prefix --name python3 >/dev/null
	touch $(STAMP)

test: $(STAMP)
	$(PY) -m ruff check rga tests benchmarks
	$(PY) -m ruff format --check rga tests benchmarks
	$(PY) -m pytest -n 2 --dist loadgroup --durations=10

book: $(STAMP)
	$(VENV)/bin/jupyter-book build --all book -W -n --keep-going  # --all: pages read results files Sphinx does not track

lint: $(STAMP)
	$(PY) -m ruff check --fix rga tests benchmarks
	$(PY) -m ruff format rga tests benchmarks

clean-book:
	rm -rf book/_build
