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

# The suite mostly waits (on servers, subprocesses and timeouts) rather than computing:
# on a small machine go test's default of GOMAXPROCS test binaries at once leaves the
# cores idle. TEST_P binaries run at once (and the slowest packages run more of their
# tests at once, see pgtest.Waiting): four. Measured from a fresh clone on 2 cores,
# every package ok: -p 4 9 min 28 s, -p 6 13 min 48 s (the CPU, not the waiting, is
# then the limit, and more binaries at once only contend for it); with the initdb
# template and one shared tenantctl binary, -p 4 8 min 14 s and 8 min 24 s (8 min 25 s
# after issue 24's fourth pass added tests). With
# TENANTCTL_TEST_DSN, use TEST_P=1.
TEST_P ?= 4
# go test starts packages in the order it is given them: the test binaries go longest
# first (then the rest of ./...), since a long one started late would be the suite's tail
# and short ones fill the slots best at the end (the order of the per-package times in
# docs/development.md).
TEST_FIRST := ./cmd/tenantctl/e2e/backup ./cmd/tenantctl/e2e/move ./internal/faulttest ./audit ./rollup \
	./cmd/tenantctl/e2e/fleet ./cmd/tenantctl/e2e/local ./provisioner ./rollout ./cmd/tenantctl/e2e/tenant \
	./serve ./scheduler ./cmd/bench ./cmd/tenantctl/e2e/config ./cmd/tenantctl/e2e/server ./mover ./catalog \
	./localpg ./internal/dbconn ./tenantdb

# The tests that run tenantctl as a subprocess (the e2e areas, the fault suite) share one
# binary, built here once, rather than each test binary building its own (see
# internal/testbin; without TENANTCTL_TEST_BINARY, as with a plain go test, each builds).
TEST_BIN := $(CURDIR)/bin/test/tenantctl

.PHONY: test-bin
test-bin:
	$(GO) build -o $(TEST_BIN) ./cmd/tenantctl

.PHONY: test
test: test-bin ## Run every test with -race against real PostgreSQL (private clusters, or TENANTCTL_TEST_DSN with TEST_P=1)
	TENANTCTL_TEST_BINARY=$(TEST_BIN) $(GO) test -race -count=1 -p $(TEST_P) -timeout 30m $(TEST_FIRST) ./...

GOLANGCI_LINT_VERSION := 2.15.0
GOLANGCI_LINT := $(shell $(GO) env GOPATH)/bin/golangci-lint

FUZZTIME ?= 30s
FUZZ_TARGETS := ./internal/validate:FuzzSlug ./internal/validate:FuzzDomain ./internal/validate:FuzzContactEmail \
	./internal/validate:FuzzLabels ./internal/validate:FuzzDisplayName ./internal/validate:FuzzIdentifier \
	./provisioner:FuzzGrantOptions ./internal/dbconn:FuzzParseConfig ./rollup:FuzzParseSpec ./tenantdb:FuzzQuote

.PHONY: test-long
test-long: test-bin ## Long fault suite: every kill point and 300 random SIGKILLs (FAULTTEST_LONG=1), the CLI's kill families at every point, then every fuzz target for FUZZTIME (30s) each
	FAULTTEST_LONG=1 TENANTCTL_TEST_BINARY=$(TEST_BIN) $(GO) test -race -count=1 -timeout 120m ./internal/faulttest/
	FAULTTEST_LONG=1 TENANTCTL_TEST_BINARY=$(TEST_BIN) $(GO) test -race -count=1 -timeout 60m -run 'Killed' ./cmd/tenantctl/...
	@for t in $(FUZZ_TARGETS); do pkg=$${t%%:*}; fn=$${t##*:}; \
		echo "fuzz $$fn in $$pkg for $(FUZZTIME)"; \
		$(GO) test -run '^$$' -fuzz "^$$fn$$" -fuzztime $(FUZZTIME) $$pkg || exit 1; done

.PHONY: lint
lint: lint-tools ## golangci-lint with .golangci.yml (gofmt, govet, staticcheck, errcheck, revive, ...)
	$(GOLANGCI_LINT) run ./...

.PHONY: lint-tools
lint-tools: ## Install the pinned golangci-lint with go install when it is missing or another version
	@if [ "$$($(GOLANGCI_LINT) version --short 2>/dev/null)" != "$(GOLANGCI_LINT_VERSION)" ]; then \
		echo "installing golangci-lint v$(GOLANGCI_LINT_VERSION)"; \
		GOFLAGS= $(GO) install github.com/golangci/golangci-lint/v2/cmd/golangci-lint@v$(GOLANGCI_LINT_VERSION); \
	fi

.PHONY: bench
bench: ## Benchmark against raw baselines on private clusters; writes bench/results/<date>.md and .json (BENCH_TENANTS=1000 for fleet scale)
	$(GO) run ./cmd/bench

.PHONY: bench-go
bench-go: ## Run the Go micro-benchmarks of each package (each against its raw baseline)
	$(GO) test -run '^$$' -bench . -benchmem -benchtime 1x -timeout 60m ./...

.PHONY: clean
clean: ## Remove build output
	rm -rf bin
