# Two commands on a fresh machine: `make demo` (set up + run the main job) and `make test` (set up + test suite).
PY ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.urlvr-installed
ARGS ?=

.PHONY: install demo test bench clean wheelhouse

$(STAMP): pyproject.toml constraints.txt
	$(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	# torch first and pinned: a looser request pulls a multi-GB CUDA build on CPU machines.
	$(BIN)/python -m pip install -q -c constraints.txt torch==2.13.0
	# constraints.txt: the versions make test last passed with (pip freeze); a fresh install gets exactly those.
	$(BIN)/python -m pip install -q -c constraints.txt -e ".[test,docker]"
	touch $(STAMP)

install: $(STAMP)

demo: install
	$(BIN)/python -m trainer.demo $(ARGS)

test: install
	# Debian chromium renders the comparison report in its test (CI runs as root).
	command -v chromium >/dev/null 2>&1 || (apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium)
	$(BIN)/python -m pytest -q $(ARGS)

bench: install
	for b in bench/bench_*.py; do echo "== $$b"; $(BIN)/python $$b || exit 1; done

# Wheels for bench/device_check.py on a GPU machine without internet (its Python: WHEEL_PY), constraints.txt's
# versions, no torch/Ray/vLLM/CUDA wheels (see the script's lists); fails over 64 MB.
WHEEL_PY ?= 3.12
wheelhouse:  # needs only a Python >= 3.11 with pip, not the venv
	$(PY) bench/device_check.py --build-wheelhouse --python-version $(WHEEL_PY) --wheelhouse .whl

clean:
	rm -rf $(VENV) runs outputs
