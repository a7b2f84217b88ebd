# tracehive: `make run` starts the bridge on its defaults, `make test` runs every test.
SHELL := /bin/bash
.DEFAULT_GOAL := help
NODE_BIN := node_modules/.bin

.PHONY: help deps build run test test-unit test-integration test-deps bench load clean

help: ## list the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-18s %s\n", $$1, $$2}'

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund
	@touch $@

deps: node_modules/.installed ## install npm packages (npm ci)

build: deps ## compile TypeScript to dist/
	$(NODE_BIN)/tsc -p tsconfig.json

run: build ## start the bridge: CyberTrace listener on 127.0.0.1:9998, alerts to data/alerts.ndjson
	@chmod +x dist/src/cli.js
	./dist/src/cli.js serve

test-deps: ## install the system packages the tests use (netcat), when missing
	@bash scripts/install-test-deps.sh

test: test-deps build ## run every test; ends with "N passed, N failed"
	node scripts/run-tests.mjs dist/spec

test-unit: build ## only the unit tests
	node scripts/run-tests.mjs dist/spec/unit

test-integration: build ## only the integration tests (real sockets, stand-in TheHive)
	node scripts/run-tests.mjs dist/spec/integration

bench: build ## tracehive vs syslog-ng (when installed) in one run, then the lifecycle off vs on, ~5 min; JSON in bench/results/, then the README table
	node dist/scripts/bench-kv.js --json bench/results/bench-kv.json
	node dist/scripts/bench-map-worker.js
	node dist/scripts/bench.js --json bench/results/bench.json
	node dist/scripts/bench-lifecycle.js --json bench/results/bench-lifecycle.json
	node dist/scripts/bench-readme.js

load: build ## send generated CyberTrace lines to a listener: make load ARGS="--port 9998 --connections 4 --lines 100000"
	node dist/scripts/loadgen.js $(ARGS)

clean: ## remove build output
	rm -rf dist dist-*
