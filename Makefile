# The two set-up commands of the README: `make demo` and `make test`.
# Each creates or updates the virtualenv in $(VENV), installs tfrobust into it,
# then runs the demo or the whole test suite (TensorFlow backend, the docstring
# examples of the package, then the backend-portable tests again on JAX).
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-$(shell cat setup.py | sha256sum | cut -c1-12)
export TF_CPP_MIN_LOG_LEVEL ?= 2
# TensorFlow's oneDNN CPU kernels, which it leaves off on AVX2 CPUs (see README).
export TF_ENABLE_ONEDNN_OPTS ?= 1
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: demo test lint install

install: $(STAMP)

$(STAMP): setup.py
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q -e ".[dev,jax]" 2>&1 | grep -v "^WARNING: Location" || true
	$(PY) -c "import tfrobust, jax, art"
	rm -f $(VENV)/.installed-* && touch $@

demo: $(STAMP)
	$(VENV)/bin/tfrobust demo

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

test: $(STAMP)
	$(PY) -m pytest tests
	$(PY) -m pytest --doctest-modules tfrobust
	KERAS_BACKEND=jax $(PY) -m pytest -m jax tests
