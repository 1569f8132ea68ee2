# mssql.hadr — the two commands a user needs:
#   make demo   three emulated SQL Server instances and what the collection builds across them
#   make test   every test and quality gate (GATES="pytest sanity" make test runs a subset)
# Both run `make venv` first: system packages (as root), FreeTDS registration, .venv.

SHELL := /bin/bash
VENV := .venv

.PHONY: venv test demo clean help

help:
	@echo "make demo   - start three emulated SQL Server instances and run the collection's playbooks on them"
	@echo "make test   - run every test and quality gate (GATES=\"pytest lint\" for a subset)"
	@echo "make venv   - install system packages (root), register FreeTDS, create .venv"
	@echo "make clean  - remove build/ (gate copies, tarballs)"

venv:
	@bash scripts/bootstrap.sh

test: venv
	@bash scripts/gates.sh

demo: venv
	@$(VENV)/bin/python scripts/demo.py

clean:
	rm -rf build
