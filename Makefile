# tenantctl — run `make help` for the targets.
GO      ?= go
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -X main.version=$(VERSION)

.DEFAULT_GOAL := help

.PHONY: help
help: ## Show this help
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  %-10s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

.PHONY: build
build: ## Build bin/tenantctl
	$(GO) build -ldflags "$(LDFLAGS)" -o bin/tenantctl ./cmd/tenantctl

.PHONY: test
test: ## Run every test with -race against real PostgreSQL (private clusters, or TENANTCTL_TEST_DSN)
	$(GO) test -race -count=1 -timeout 30m ./...

.PHONY: lint
lint: ## gofmt check and go vet
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...

.PHONY: bench
bench: ## Benchmark against raw baselines on private clusters; writes bench/results/<date>.md and .json (BENCH_TENANTS=1000 for fleet scale)
	$(GO) run ./bench

.PHONY: bench-go
bench-go: ## Run the Go micro-benchmarks of each package (each against its raw baseline)
	$(GO) test -run '^$$' -bench . -benchmem -benchtime 1x -timeout 60m ./...

.PHONY: clean
clean: ## Remove build output
	rm -rf bin
