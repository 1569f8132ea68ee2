# mssql.hadr — the two commands a user needs:
#   make demo   three emulated SQL Server instances and what the collection builds across them
#   make test   every test and quality gate (GATES="pytest sanity" make test runs a subset)
# Both run `make venv` first: system packages (as root), FreeTDS registration, .venv.

SHELL := /bin/bash
VENV := .venv

.PHONY: venv test demo clean help fuzz bench

help:
	@echo "make demo   - start three emulated SQL Server instances and run the collection's playbooks on them"
	@echo "make test   - run every test and quality gate (GATES=\"pytest lint\" for a subset)"
	@echo "make venv   - install system packages (root), register FreeTDS, create .venv"
	@echo "make clean  - remove build/ (gate copies, tarballs)"
	@echo "make fuzz   - long hardening runs: >=1000 generated module inputs, a fault at every topology statement"
	@echo "make bench  - round trips per module and playbook cost for 2-8 replicas (writes bench/results.md)"

venv:
	@bash scripts/bootstrap.sh

test: venv
	@bash scripts/gates.sh

demo: venv
	@$(VENV)/bin/python scripts/demo.py

clean:
	rm -rf build

fuzz: venv
	HYPOTHESIS_PROFILE=mssql-hadr-fuzz MSSQL_HADR_FAULTS=all MSSQL_HADR_TLS_SUITE=1 MSSQL_HADR_DURABILITY_SEED=random \
		$(VENV)/bin/python -m pytest -p no:cacheprovider tests/fuzz tests/faults tests/tls \
		tests/emulator/tests/test_durability.py

bench: venv
	$(VENV)/bin/python -m bench.run
