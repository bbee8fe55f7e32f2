# Quick start:  make demo   (install, then run the sidecar in front of the embedded model)
#               make test   (install, then run the test suite)
VENV ?= .venv
STAMP := $(VENV)/.installed

.PHONY: install demo lint test bench generate check-generated

$(STAMP): pyproject.toml scripts/install.sh
	bash scripts/install.sh

install: $(STAMP)

demo: $(STAMP)
	HF_HUB_OFFLINE=1 $(VENV)/bin/tunewatch demo

lint: $(STAMP)
	$(VENV)/bin/ruff check monitor detectors lab tests bench
	$(VENV)/bin/mypy monitor detectors lab

test: lint
	HF_HUB_OFFLINE=1 $(VENV)/bin/python -m pytest

bench: $(STAMP)
	$(VENV)/bin/python bench/proxy_overhead.py

generate: $(STAMP)
	$(VENV)/bin/python -m monitor.mixin.generate
