# v2abench: `make run` and `make test` are all a newcomer needs; both install first when needed.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | sha256sum | cut -c1-16)

.PHONY: install run test test-all leaderboards lint clean

install: $(STAMP)

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip "setuptools==80.10.2" wheel
	$(PY) -m pip install --quiet -e ".[test]"
	@rm -f $(VENV)/.installed-*
	@touch $(STAMP)

run: install
	$(VENV)/bin/v2abench run

test: install
	HF_HUB_OFFLINE=1 $(PY) -m pytest -q

test-all: install
	HF_HUB_OFFLINE=1 $(PY) -m pytest -q -m ""

leaderboards: install
	$(VENV)/bin/v2abench leaderboard build --check

clean:
	rm -rf $(VENV) build dist *.egg-info
