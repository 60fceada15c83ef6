# tenantctl — run `make help` for the targets.
GO      ?= go
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -X github.com/tenantctl/tenantctl/internal/version.stamped=$(VERSION)

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
bench: ## Run the benchmarks (each against its raw PostgreSQL baseline in the same run)
	$(GO) test -run '^$$' -bench . -benchmem -benchtime 1x -timeout 60m ./...

.PHONY: clean
clean: ## Remove build output
	rm -rf bin
