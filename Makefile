# One way to run everything. `make demo` and `make test` set up what they need first.
PY      ?= python3
VENV    := .venv
BIN     := $(VENV)/bin
STAMP   := $(VENV)/.installed
PYTEST_ARGS ?=

.PHONY: help deps venv test unit integration e2e demo demo-down bench bench-scheduler \
        bench-deploy bench-failover bench-cli bench-reads bench-scale bench-scale-join bench-scale-apply bench-scale-failover bench-scaleup bench-network chaos proto \
        lint clean

help:
	@echo "make demo    a 3-host testbed, the Apache+PHP+MariaDB app across it, its page"
	@echo "make test    every test: unit, integration (etcd, gRPC), e2e (testbed, Docker)"
	@echo "make bench   the benchmarks behind docs/promises.md"
	@echo "make bench-cli   how long a CLI call takes, against bare Python start-up"
	@echo "make bench-reads   get tasks at 10,000 hollow tasks, against any CLI call"
	@echo "make bench-network   container vs host throughput and latency, host-gw and VXLAN"
	@echo "make chaos   kill hosts, agents and the leader; time recovery, check nothing lost"
	@echo "make lint    ruff, mypy, import contracts"
	@echo "make proto   regenerate dockyard.v1 from proto/*.proto"

deps:
	@if [ "$$(id -u)" = 0 ]; then deploy/install-deps.sh; \
	 else echo "not root: skipping apt packages (etcd-server, docker.io, ...)"; fi

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	@touch $(STAMP)

venv: $(STAMP)

test: deps venv
	$(BIN)/python -m pytest -q $(PYTEST_ARGS)

unit: venv
	$(BIN)/python -m pytest -q tests/unit $(PYTEST_ARGS)

integration: deps venv
	$(BIN)/python -m pytest -q tests/integration $(PYTEST_ARGS)

e2e: deps venv
	$(BIN)/python -m pytest -q tests/e2e $(PYTEST_ARGS)

demo: deps venv
	$(BIN)/python -m dockyard.deploy.demo

demo-down: venv
	$(BIN)/dockyard dev-cluster down

bench: bench-scheduler bench-deploy bench-failover bench-scaleup

bench-cli: venv
	$(BIN)/python -m dockyard.deploy.bench.cli

bench-reads: venv
	$(BIN)/python -m dockyard.deploy.bench.reads

bench-scheduler: venv
	$(BIN)/python -m dockyard.scheduler.bench

bench-deploy: deps venv
	$(BIN)/python -m dockyard.deploy.bench.deploy

bench-failover: deps venv
	$(BIN)/python -m dockyard.deploy.bench.failover

# Hollow nodes on loopback: no root, no Docker. BENCH_SCALE=small (default) or full.
bench-scale: venv
	$(BIN)/python -m dockyard.deploy.bench.scale

# The join phase alone: BENCH_SCALE_NODES=N (default 300), docs/scale.md.
bench-scale-join: venv
	$(BIN)/python -m dockyard.deploy.bench.scale_join

# Where one big apply's time goes, phase by phase: BENCH_SCALE_NODES=N (default 300).
bench-scale-apply: venv
	$(BIN)/python -m dockyard.deploy.bench.scale_apply

# Where one failover's time goes, write by write: BENCH_SCALE_NODES=N (default 300).
bench-scale-failover: venv
	$(BIN)/python -m dockyard.deploy.bench.scale_failover_run

bench-scaleup: deps venv
	$(BIN)/python -m dockyard.deploy.bench.scaleup

# Two segments: container to container against host to host, host-gw and VXLAN.
bench-network: deps venv
	$(BIN)/python -m dockyard.deploy.bench.network

chaos: deps venv
	$(BIN)/python -m dockyard.deploy.bench.chaos

proto: venv
	$(BIN)/python -m grpc_tools.protoc -Iproto --python_out=proto --pyi_out=proto \
	    proto/dockyard/v1/specs.proto proto/dockyard/v1/objects.proto
	$(BIN)/python -m grpc_tools.protoc -Iproto --python_out=proto --pyi_out=proto \
	    --grpc_python_out=proto proto/dockyard/v1/control.proto proto/dockyard/v1/dispatcher.proto

# mypy and import-linter read the installed layout (one `dockyard` namespace), so they
# run over a copy installed into build/lint; ruff reads the sources as they are.
lint: venv
	$(BIN)/ruff check .
	rm -rf build/lint
	$(BIN)/pip install -q --no-deps --no-build-isolation --target build/lint .
	cd build/lint && ../../$(BIN)/mypy --config-file ../../pyproject.toml -p dockyard
	cd build/lint && ../../$(BIN)/lint-imports ../../pyproject.toml

clean:
	rm -rf $(VENV) build .pytest_cache .mypy_cache .ruff_cache .hypothesis bench-results
