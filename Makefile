# Set-up and everyday commands. `make demo` and `make test` create .venv on first use:
# torch==2.13.0 first (a CPU wheel; an unpinned torch would pull a multi-GB CUDA build),
# then the project, both held to the versions in requirements/lock.txt.

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
LOCK := requirements/lock.txt

.PHONY: demo test test-all bench lesson rates clean

$(VENV)/.installed: pyproject.toml $(LOCK)
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet -c $(LOCK) torch==2.13.0
	$(PY) -m pip install --quiet -c $(LOCK) -e '.[dev]'
	touch $@

demo: $(VENV)/.installed
	$(PY) -m rnnlab lesson

test: $(VENV)/.installed
	$(PY) -m pytest -q

test-all: $(VENV)/.installed
	RNNLAB_SLOW=1 $(PY) -m pytest -q

lesson: $(VENV)/.installed
	$(PY) -m rnnlab lesson --shapes

rates: $(VENV)/.installed
	$(PY) scripts/lesson_success_rates.py

bench: $(VENV)/.installed
	$(PY) benchmarks/reference_speed.py

clean:
	rm -rf $(VENV) build src/*.egg-info .pytest_cache
