package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// The "flatness" section: the time per tenant of the fleet operations with 100 tenants
// on the one server and again with BENCH_TENANTS_PER_SERVER (1,000 or 3,000, say). The
// issue's target is flat, within ±20%. It runs only when BENCH_TENANTS_PER_SERVER is set
// (creating thousands of databases takes a while and ≈7.4 MiB of disk each).
//
// Each operation is timed in its steady state at each size, after an untimed `migrate
// up` brought every tenant (new ones included) to the same version:
//   - migrate up: one new small migration over the whole fleet (--concurrency 4 --per-server 4);
//   - rollup run: the whole fleet after an untimed run (nothing new to copy: the fixed cost per tenant);
//   - audit --no-probes;
//   - reconcile (nothing to repair).

// flatRow is one operation's time per tenant at each size.
type flatRow struct {
	Operation   string    `json:"operation"`
	Tenants     []int     `json:"tenants"`
	PerTenantMS []float64 `json:"per_tenant_ms"`
	// Ratio is the largest size's time per tenant over the smallest's.
	Ratio float64 `json:"ratio"`
	Flat  bool    `json:"flat"` // within ±20%
}

func flatSizes() []int {
	large := envInt("BENCH_TENANTS_PER_SERVER", 0)
	if large == 0 {
		return nil
	}
	if large <= 100 {
		return []int{large}
	}
	return []int{100, large}
}

// benchMigrations is the tenant migration directory the bench's tenantctl processes
// use: the repository's first migration plus the bench's own. Made once.
func (h *harness) benchMigrations() (string, error) {
	dir := filepath.Join(h.dir, "migrations")
	if _, err := os.Stat(filepath.Join(dir, "00002_bench.sql")); err == nil {
		return dir, nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	first, err := os.ReadFile(filepath.Join(moduleRoot(context.Background()), "migrations", "tenant", "00001_service_desk.sql"))
	if err != nil {
		return "", err
	}
	if err := os.WriteFile(filepath.Join(dir, "00001_service_desk.sql"), first, 0o644); err != nil {
		return "", err
	}
	if err := os.WriteFile(filepath.Join(dir, "00002_bench.sql"), []byte(benchMigration), 0o644); err != nil {
		return "", err
	}
	h.env = append(h.env, "TENANTCTL_TENANT_MIGRATIONS="+dir)
	return dir, nil
}

func (h *harness) flatness(ctx context.Context, r *report) error {
	sizes := flatSizes()
	if len(sizes) == 0 {
		r.Notes = append(r.Notes, "flatness: not run (set BENCH_TENANTS_PER_SERVER, e.g. 1000 or 3000)")
		return nil
	}
	dir, err := h.benchMigrations()
	if err != nil {
		return err
	}
	ops := []struct {
		name string
		args []string
	}{
		{"migrate up, one migration", []string{"migrate", "up", "--concurrency", "4", "--per-server", "4"}},
		{"rollup run, nothing new", []string{"rollup", "run", "--concurrency", "4", "--per-server", "4"}},
		{"audit --no-probes", []string{"audit", "--no-probes", "-o", "json", "--out", filepath.Join(h.dir, "flat-audit.json"), "--concurrency", "4", "--per-server", "4"}},
		{"reconcile", []string{"reconcile"}},
	}
	// As in the audit section: the raw baselines' databases are no fleet's.
	if _, err := h.dropBaselines(ctx); err != nil {
		return err
	}
	per := make([][]float64, len(ops))
	for si, n := range sizes {
		dbs, err := h.fleetTenants(ctx, n)
		if err != nil {
			return err
		}
		k := len(dbs)
		h.logf("flatness: %d tenants", k)
		if _, err := h.run(ctx, "migrate up", "migrate", "up", "--concurrency", "4", "--per-server", "4"); err != nil {
			return err
		}
		if _, err := h.run(ctx, "rollup run", "rollup", "run", "--concurrency", "4", "--per-server", "4"); err != nil {
			return err
		}
		mig := fmt.Sprintf("-- +goose Up\nALTER TABLE incidents ADD COLUMN flat_%d text;\n-- +goose Down\nALTER TABLE incidents DROP COLUMN flat_%d;\n", si, si)
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("%05d_flat.sql", 10+si)), []byte(mig), 0o644); err != nil {
			return err
		}
		for oi, op := range ops {
			s := h.sampleConns(ctx)
			t, err := h.run(ctx, op.args[0], op.args...)
			peak := s.Stop()
			if err != nil && op.args[0] == "audit" && strings.Contains(err.Error(), "exit status") && !strings.Contains(err.Error(), "exit status 2") {
				r.Notes = append(r.Notes, "flatness audit reported violations: "+firstLine(err.Error())+": "+auditFindings(filepath.Join(h.dir, "flat-audit.json")))
				err = nil
			}
			if err != nil {
				return err
			}
			m := r.add(measurement{Section: "flatness", Name: fmt.Sprintf("%s, %d tenants on the server", op.name, k), Ops: k, Conc: 4,
				TotalMS: ms(t.d), PerOpMS: ms(t.d) / float64(k), PeakConns: peak, PeakRSSKiB: t.rssKiB})
			h.logf("flatness %s at %d tenants: %.1f ms per tenant", op.name, k, m.PerOpMS)
			per[oi] = append(per[oi], m.PerOpMS)
		}
	}
	for oi, op := range ops {
		row := flatRow{Operation: op.name, Tenants: sizes, PerTenantMS: per[oi]}
		if len(per[oi]) > 1 && per[oi][0] > 0 {
			row.Ratio = per[oi][len(per[oi])-1] / per[oi][0]
			row.Flat = row.Ratio >= 0.8 && row.Ratio <= 1.2
		}
		r.FlatRows = append(r.FlatRows, row)
	}
	return nil
}
