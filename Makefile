# Set-up and everyday commands. `make demo` and `make test` create .venv on first use:
# torch==2.13.0 first (a CPU wheel; an unpinned torch would pull a multi-GB CUDA build),
# then the project, both held to the versions in requirements/lock.txt.

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
LOCK := requirements/lock.txt

.PHONY: demo test test-all test-avx2 test-wheel dist lint format bench bench-gpu lesson rates base-model clean

$(VENV)/.installed: pyproject.toml $(LOCK)
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet -c $(LOCK) torch==2.13.0
	$(PY) -m pip install --quiet -c $(LOCK) -e '.[dev]'
	touch $@

# The main job on the embedded corpus: the lesson, then the shipped English base model
# fine-tuned on it for two minutes (docs/base-model.md), then samples. Each demo run gets its own
# folder, so no earlier run is overwritten.
DEMO_RUN := runs/demo-$(shell date +%Y%m%d-%H%M%S)

demo: $(VENV)/.installed
	$(PY) -m rnnlab lesson
	$(PY) -m rnnlab train --init-from base --out $(DEMO_RUN) --max-time 120
	$(PY) -m rnnlab sample $(DEMO_RUN) --length 600 --temperature 0.8 --seed 0
	$(PY) -m rnnlab sample $(DEMO_RUN) --length 300 --temperature 0.6 --prime "hacker" --seed 1

test: $(VENV)/.installed
	$(PY) -m pytest -q

# ruff, configured in pyproject.toml: the lint rules and the formatting, checked (CI runs this).
lint: $(VENV)/.installed
	$(VENV)/bin/ruff check src tests benchmarks scripts notebooks examples
	$(VENV)/bin/ruff format --check src tests benchmarks scripts notebooks examples

format: $(VENV)/.installed
	$(VENV)/bin/ruff check --fix src tests benchmarks scripts notebooks examples
	$(VENV)/bin/ruff format src tests benchmarks scripts notebooks examples

test-all: $(VENV)/.installed
	RNNLAB_SLOW=1 $(PY) -m pytest -q

# The cells and the precisions again, with oneDNN and ATen held to AVX2, as on a CPU without
# AVX-512 or native bfloat16: where bf16 has no kernel for a cell, its refusal must be tested.
test-avx2: $(VENV)/.installed
	ONEDNN_MAX_CPU_ISA=AVX2 ATEN_CPU_CAPABILITY=avx2 RNNLAB_EXPECT_BF16_REFUSAL=1 \
		$(PY) -m pytest -q tests/test_precision.py tests/test_nn_cells.py tests/test_nn_layers.py

# The sdist and the wheel, in dist/.
dist: $(VENV)/.installed
	$(PY) -m build --outdir dist .

# The wheel installed in a new venv and used from outside the checkout (tests/test_wheel.py).
test-wheel: $(VENV)/.installed
	$(PY) -m pytest -q -m slow tests/test_wheel.py

lesson: $(VENV)/.installed
	$(PY) -m rnnlab lesson --shapes

rates: $(VENV)/.installed
	$(PY) scripts/lesson_success_rates.py

# The English base model shipped in src/rnnlab/models/base.pt (docs/base-model.md): builds its
# corpus (apt-get download of r-cran-janeaustenr), trains, exports. About 80 minutes on 2 cores;
# after a stop, `$(PY) scripts/train_base.py --resume` goes on.
base-model: $(VENV)/.installed
	$(PY) scripts/train_base.py

bench: $(VENV)/.installed
	$(PY) benchmarks/startup.py
	$(PY) benchmarks/reference_speed.py --repeats 15
	$(PY) benchmarks/lm_throughput.py
	$(PY) benchmarks/sample_speed.py
	$(PY) benchmarks/corpus_memory.py
	$(PY) benchmarks/lm_quality.py --minutes 1 2 5
	$(PY) benchmarks/tag_quality.py --minutes 3.5

# On a machine with a CUDA card: the GPU tests and benchmarks, table in benchmarks/results/gpu/.
bench-gpu: $(VENV)/.installed
	bash benchmarks/gpu_check.sh

clean:
	rm -rf $(VENV) build dist src/*.egg-info .pytest_cache
