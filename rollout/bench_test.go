package rollout_test

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/tenantctl/tenantctl/catalog"
	"github.com/tenantctl/tenantctl/fleet"
	"github.com/tenantctl/tenantctl/provisioner"
	"github.com/tenantctl/tenantctl/rollout"
	"github.com/tenantctl/tenantctl/tenantdb"
)

// BenchmarkFleetMigration applies one small migration to a fleet spread over two servers
// with rollout.Run at concurrency 1 and 8, against the raw baseline of applying the same
// kind of statement with one plain connection per database (connect, one transaction,
// close) at the same concurrency, in the same run; then measures a no-op run (nothing
// pending). TENANTCTL_BENCH_TENANTS sets the fleet size (default 100, so the whole benchmark
// stays near two minutes on a 2-core machine: creating the fleet dominates).
//
// Reported: ms/tenant for each, the ratios rollout/raw, and the no-op cost per tenant,
// both trusting the catalog (the default) and visiting every database (Verify).
func BenchmarkFleetMigration(b *testing.B) {
	n := 100
	if s := os.Getenv("TENANTCTL_BENCH_TENANTS"); s != "" {
		var err error
		n, err = strconv.Atoi(s)
		require.NoError(b, err)
	}
	bundle := setupB(b)
	ctx := context.Background()
	created := time.Now()
	tenants := bundle.createMany(b, n, 4)
	b.Logf("created %d tenants in %s", n, time.Since(created).Round(time.Millisecond))

	var raw1, raw8, roll1, roll8, tmpl, noop, verify time.Duration
	iter := 0
	for b.Loop() {
		// Each iteration rolls out two new versions, so -benchtime Nx stays meaningful.
		v8 := int64(3 + 2*iter)
		files := map[string]string{}
		for v := int64(2); v <= v8; v++ {
			files[fmt.Sprintf("%05d_bench.sql", v)] = fmt.Sprintf("-- +goose Up\nCREATE TABLE bench_v%d (id bigint PRIMARY KEY, note text);\n", v)
		}
		dir8 := migDir(b, files)
		delete(files, fmt.Sprintf("%05d_bench.sql", v8))
		dir := migDir(b, files)

		raw1 += bundle.raw(b, tenants, fmt.Sprintf("raw1_%d", iter), 1)
		res, err := rollout.Run(ctx, rollout.Options{Store: bundle.store, Migrations: os.DirFS(dir), Canary: -1, MaxFailures: 1, Options: fleet.Options{Concurrency: 1}})
		require.NoError(b, err)
		require.Len(b, res.Migrated, n)
		roll1 += res.TenantsElapsed
		tmpl += res.Elapsed - res.TenantsElapsed

		raw8 += bundle.raw(b, tenants, fmt.Sprintf("raw8_%d", iter), 8)
		res, err = rollout.Run(ctx, rollout.Options{Store: bundle.store, Migrations: os.DirFS(dir8), Canary: -1, MaxFailures: 1, Options: fleet.Options{Concurrency: 8, PerServer: 4}})
		require.NoError(b, err)
		require.Len(b, res.Migrated, n)
		roll8 += res.TenantsElapsed

		start := time.Now()
		res, err = rollout.Run(ctx, rollout.Options{Store: bundle.store, Migrations: os.DirFS(dir8)})
		noop += time.Since(start)
		require.NoError(b, err)
		require.Equal(b, n, res.Plan.Current)

		res, err = rollout.Run(ctx, rollout.Options{Store: bundle.store, Migrations: os.DirFS(dir8), Verify: true, Options: fleet.Options{Concurrency: 8, PerServer: 4}})
		require.NoError(b, err)
		verify += res.TenantsElapsed
		iter++
	}
	per := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) / float64(n*iter) }
	b.ReportMetric(per(raw1), "raw-c1-ms/tenant")
	b.ReportMetric(per(roll1), "rollout-c1-ms/tenant")
	b.ReportMetric(per(roll1)/per(raw1), "ratio-c1")
	b.ReportMetric(per(raw8), "raw-c8-ms/tenant")
	b.ReportMetric(per(roll8), "rollout-c8-ms/tenant")
	b.ReportMetric(per(roll8)/per(raw8), "ratio-c8")
	b.ReportMetric(float64(tmpl)/float64(time.Millisecond)/float64(iter), "template-rebuild-ms")
	b.ReportMetric(per(noop), "noop-ms/tenant")
	b.ReportMetric(per(verify), "noop-verify-ms/tenant")
	b.ReportMetric(float64(n), "tenants")
}

type benchBundle struct {
	*testBundle
	servers map[string]*tenantdb.Server
}

func setupB(b *testing.B) *benchBundle {
	b.Helper()
	tb := newBundle(b)
	if tb.env.External {
		// Private clusters vanish with the test binary; a shared server must be cleaned.
		b.Cleanup(tb.purgeAll)
	}
	bb := &benchBundle{testBundle: tb, servers: map[string]*tenantdb.Server{}}
	for _, name := range []string{"pg-a", "pg-b"} {
		srv, err := tb.p.Server(context.Background(), name)
		require.NoError(b, err)
		bb.servers[name] = srv
	}
	return bb
}

// createMany creates n tenants with `workers` concurrent creators (placement spreads
// them over both servers).
func (bb *benchBundle) createMany(b *testing.B, n, workers int) []catalog.Tenant {
	b.Helper()
	ctx := context.Background()
	out := make([]catalog.Tenant, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	next := make(chan int)
	for w := 0; w < workers; w++ {
		wg.Go(func() {
			for i := range next {
				slug := fmt.Sprintf("bench-%04d", i)
				server := []string{"pg-a", "pg-b"}[i%2]
				out[i], errs[i] = bb.p.Create(ctx, provisioner.CreateOptions{Slug: slug, Name: slug, Domain: slug + ".example", Server: server})
			}
		})
	}
	for i := 0; i < n; i++ {
		next <- i
	}
	close(next)
	wg.Wait()
	for _, err := range errs {
		require.NoError(b, err)
	}
	return out
}

// raw applies CREATE TABLE <table> to every tenant database the plain way: one admin
// connection per database, one transaction, closed — with `workers` at once.
func (bb *benchBundle) raw(b *testing.B, tenants []catalog.Tenant, table string, workers int) time.Duration {
	b.Helper()
	ctx := context.Background()
	start := time.Now()
	var wg sync.WaitGroup
	errs := make([]error, len(tenants))
	next := make(chan int)
	for w := 0; w < workers; w++ {
		wg.Go(func() {
			for i := range next {
				errs[i] = func() error {
					tn := tenants[i]
					conn, err := bb.servers[tn.Server].Connect(ctx, tn.Database)
					if err != nil {
						return err
					}
					defer conn.Close(ctx)
					return pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
						_, err := tx.Exec(ctx, "CREATE TABLE "+pgx.Identifier{table}.Sanitize()+" (id bigint PRIMARY KEY, note text)")
						return err
					})
				}()
			}
		})
	}
	for i := range tenants {
		next <- i
	}
	close(next)
	wg.Wait()
	d := time.Since(start)
	for _, err := range errs {
		require.NoError(b, err)
	}
	return d
}
