# Two set-up commands: `make demo` and `make test`. Both create .venv and install the project with
# torch pinned to the local CPU build (an unpinned torch would pull a multi-GB CUDA build).
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
TORCH := torch==2.13.0

.PHONY: demo test test-slow install data bench clean

$(BIN)/.installed: pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q $(TORCH)
	$(BIN)/pip install -q -e ".[test]" $(TORCH)
	touch $@

install: $(BIN)/.installed

demo: install
	OMP_NUM_THREADS=1 HF_HUB_OFFLINE=1 $(BIN)/genprior demo --out out/demo --threads 1

test: install
	OMP_NUM_THREADS=1 HF_HUB_OFFLINE=1 $(BIN)/python -m pytest tests

test-slow: install
	OMP_NUM_THREADS=1 HF_HUB_OFFLINE=1 $(BIN)/python -m pytest tests -m slow

bench: install
	OMP_NUM_THREADS=1 HF_HUB_OFFLINE=1 $(BIN)/genprior bench quick --out out/bench/quick --report

# optional datasets: Fashion-MNIST from Debian, animal silhouettes from PyPI (data only, no TensorFlow)
data: install
	(apt-get install -y -q dataset-fashion-mnist || sudo apt-get install -y -q dataset-fashion-mnist)
	$(BIN)/pip install -q --no-deps animal-mnist

clean:
	rm -rf $(VENV) out
