# Atom — the only entry point. `make run` and `make test` are the quickstart.
SHELL := /bin/bash
GO ?= go
BIN := bin
PLUGIN_DIR := $(BIN)/plugins
# The host's version: tags v*, not the SDK module's sdk/v* tags.
VERSION ?= $(shell git describe --tags --match 'v[0-9]*' --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -s -w -X github.com/atomhq/atom/host/internal/app.Version=$(VERSION)
TEST_TIMEOUT ?= 12m

MAKEFLAGS += -j2

.PHONY: all run build atom plugins natives pieces test test-faults bench lint fmt proto check catalog catalog-sync deps clean

all: build

## run: build everything and start the host on embedded SQLite with the demo provider
run: build
	ATOM_DEV=true ATOM_PLUGIN_DIR=$(PLUGIN_DIR) ./$(BIN)/atom serve

## build: the atom binary, every native plugin and every piece
build: atom plugins

atom:
	@echo "building $(BIN)/atom…"
	@$(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN)/atom ./host/cmd/atom

plugins: natives pieces

natives:
	@GO=$(GO) ./scripts/build-natives.sh $(PLUGIN_DIR) 2

pieces:
	@echo "building pieces (WebAssembly)…"
	@./plugins/pieces/build.sh $(PLUGIN_DIR) >/dev/null
	@echo "built $$(ls -d plugins/pieces/*/ | wc -l) pieces into $(PLUGIN_DIR)"

## test: every test, including PostgreSQL, plugin builds and the browser test
test: deps build
	@echo "== go vet ./... (atom module)"
	$(GO) vet ./...
	@echo "== go test ./... (atom module: SQLite, PostgreSQL, plugins, browser)"
	$(GO) test -count=1 -timeout $(TEST_TIMEOUT) ./...
	@echo "== go vet and go test ./... (sdk module)"
	cd sdk && $(GO) vet ./... && $(GO) test -count=1 ./...

## test-faults: the fault suite, then every fuzz target for FAULT_FUZZTIME each (see RELIABILITY.md)
FAULT_FUZZTIME ?= 10s
FUZZ_TARGETS := FuzzCallback:./host/internal/connect FuzzDecodeDescriptor:./catalog \
	FuzzHTTPRequest:./host/internal/runtimes/wasm FuzzManifest:./host/internal/runtimes/wasm FuzzJSONBodies:./host/internal/api
test-faults: deps
	$(GO) test -count=1 -timeout 25m ./host/internal/faults/...
	@for t in $(FUZZ_TARGETS); do \
		name=$${t%%:*}; pkg=$${t#*:}; echo "fuzz $$name ($$pkg) for $(FAULT_FUZZTIME)"; \
		$(GO) test -run '^$$' -fuzz "^$$name\$$" -fuzztime $(FAULT_FUZZTIME) $$pkg || exit 1; \
	done

## bench: benchmarks side by side, written to BENCHMARKS.md
bench: deps build
	$(GO) run ./host/internal/bench/cmd/benchreport -command "make bench" -out BENCHMARKS.md

deps:
	@./scripts/deps.sh

## catalog: regenerate catalog/data from ../shared/data/providers.json
catalog:
	$(GO) generate ./catalog

## catalog-sync: mark shipped native plugins and pieces in catalog/implementations.json
catalog-sync:
	$(GO) run ./catalog/cmd/syncimpl

## proto: regenerate the plugin protocol's Go code
proto:
	cd sdk && ./scripts/genproto.sh

## openapi: regenerate the REST API client (host/internal/apiclient) from host/internal/api/openapi.yaml
.PHONY: openapi
openapi:
	$(GO) generate ./host/internal/apiclient

lint:
	$(GO) vet ./...
	cd sdk && $(GO) vet ./...
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

fmt:
	gofmt -w $$(git ls-files '*.go')

## check: format, tidy the sdk module, lint, and fail on any diff
check: fmt lint
	cd sdk && $(GO) mod tidy
	git diff --exit-code

clean:
	rm -rf $(BIN)
