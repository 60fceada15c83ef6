// Command bench measures tenantctl against what an operator would script instead, pair
// by pair in one run on clusters it starts itself: the real psql, the goose CLI in an
// `xargs -P4` loop, a binary COPY pipe between two psql processes. It writes
// bench/results/<date>.md and .json, ratios first.
//
// Run it with `make bench`. Sizes: BENCH_TENANTS (fleet size for migration, audit and
// rollup; default 24), BENCH_CREATES (tenant creates per provisioning mode; default 8),
// BENCH_ROWS (rows of the first rollup copy; default 200000), BENCH_CATALOG_ROWS
// (tenant rows for the catalog reads; default 10000), BENCH_OUT (results directory;
// default bench/results), BENCH_SECTIONS (comma-separated section names to run, e.g.
// "audit,catalog reads"; default all).
//
// BENCH_RESTORE=1 adds the restore section (RPO and RTO of backups and `tenant restore`,
// see restore.go for its sizes); it is large, so it never runs unless asked:
// BENCH_RESTORE=1 BENCH_SECTIONS=restore go run ./cmd/bench.
//
// It is a program, so it lives with the programs under cmd/; its results stay in
// bench/results at the module root, where the docs link them. It is a benchmark, not a
// test: `go test` runs only a smoke test of it (one small section, results in a
// temporary directory).
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

type sizes struct {
	Tenants     int `json:"tenants"`
	Creates     int `json:"creates"`
	Rows        int `json:"rows"`
	CatalogRows int `json:"catalog_rows"`
	Rounds      int `json:"rounds"`
}

func envInt(name string, def int) int {
	if v := os.Getenv(name); v != "" {
		if n, err := strconv.Atoi(v); err == nil && n > 0 {
			return n
		}
		fmt.Fprintf(os.Stderr, "bench: ignoring %s=%q (want a positive integer)\n", name, v)
	}
	return def
}

// wanted reports whether BENCH_SECTIONS (comma-separated section names or their first
// words: provisioning, migration, audit, rollup, catalog; empty: all) selects the
// section. The fleet sections create the fleet they need whichever runs first.
func wanted(section string) bool {
	list := os.Getenv("BENCH_SECTIONS")
	if list == "" {
		return true
	}
	first, _, _ := strings.Cut(section, " ")
	if first == "fleet" {
		first = "migration"
	}
	for _, w := range strings.Split(list, ",") {
		w = strings.TrimSpace(w)
		// A section's first word ("catalog") or its whole name ("catalog reads").
		if strings.EqualFold(w, first) || strings.EqualFold(w, section) {
			return true
		}
	}
	return false
}

func main() {
	sz := sizes{
		Tenants:     envInt("BENCH_TENANTS", 24),
		Creates:     envInt("BENCH_CREATES", 8),
		Rows:        envInt("BENCH_ROWS", 200000),
		CatalogRows: envInt("BENCH_CATALOG_ROWS", 10000),
		Rounds:      envInt("BENCH_ROUNDS", 3),
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	out := os.Getenv("BENCH_OUT")
	if out == "" {
		out = filepath.Join(moduleRoot(ctx), "bench", "results")
	}
	if len(os.Args) == 3 && os.Args[1] == rawFleetArg {
		conc, _ := strconv.Atoi(os.Args[2])
		if err := rawFleetMain(ctx, max(conc, 1)); err != nil {
			fmt.Fprintln(os.Stderr, "bench raw-fleet:", err)
			os.Exit(1)
		}
		return
	}
	if err := run(ctx, sz, out); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "bench %s: %s\n", time.Now().Format("15:04:05"), fmt.Sprintf(format, args...))
}

func run(ctx context.Context, sz sizes, outDir string) (retErr error) {
	started := time.Now()
	rep := &report{Sizes: sz, Started: started.UTC(), Machine: machine()}
	// The roles section runs on a cluster of its own and needs no harness.
	if wanted("roles") {
		logf("== roles")
		if err := roleCost(ctx, rep, logf); err != nil {
			rep.Errors = append(rep.Errors, fmt.Sprintf("roles: %v", err))
			logf("section roles failed: %v", err)
		}
	}
	var h *harness
	if os.Getenv("BENCH_SECTIONS") != "roles" && ctx.Err() == nil {
		var err error
		if h, err = newHarness(ctx, sz); err != nil {
			return err
		}
		defer func() { h.close() }()
	}
	for _, s := range []struct {
		name string
		fn   func(context.Context, *report) error
	}{
		{"provisioning", h.provisioning},
		{"fleet migration", h.migration},
		{"audit", h.audit},
		{"rollup", h.rollup},
		{"catalog reads", h.catalogReads},
		{"flatness", h.flatness},
		{"restore", h.restore},
	} {
		if h == nil || !wanted(s.name) || (s.name == "restore" && !restoreWanted()) {
			continue
		}
		h.logf("== %s", s.name)
		if err := s.fn(ctx, rep); err != nil {
			rep.Errors = append(rep.Errors, fmt.Sprintf("%s: %v", s.name, err))
			h.logf("section %s failed: %v", s.name, err)
		}
		if ctx.Err() != nil {
			break
		}
	}
	rep.Finished = time.Now().UTC()
	rep.MachineAfter = machine()
	if h != nil {
		rep.PeakRSS = h.rss
	}
	md, js, err := rep.write(outDir)
	if err != nil {
		return err
	}
	fmt.Printf("bench: wrote %s and %s (%s)\n", md, js, time.Since(started).Round(time.Second))
	if len(rep.Errors) > 0 {
		return fmt.Errorf("%d section(s) failed: %v", len(rep.Errors), rep.Errors)
	}
	return nil
}
