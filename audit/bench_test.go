package audit_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"golang.org/x/sync/errgroup"

	"github.com/tenantctl/tenantctl/audit"
	"github.com/tenantctl/tenantctl/catalog"
	"github.com/tenantctl/tenantctl/internal/dbconn"
	"github.com/tenantctl/tenantctl/internal/pgtest"
	"github.com/tenantctl/tenantctl/provisioner"
	"github.com/tenantctl/tenantctl/secret"
	"github.com/tenantctl/tenantctl/tenantdb"
)

const benchTenants = 200

// BenchmarkAudit audits a fleet of 200 tenants on two servers, with and without live
// probes, against raw PostgreSQL baselines measured in the same run:
//
//   - baseline-catalog: the server-wide catalog scans alone (pg_database and pg_roles
//     on each server, one connection each) — the floor of the configuration checks;
//   - baseline-connect: one connection and one trivial query per tenant database, with
//     the audit's concurrency — the floor of the in-database checks;
//   - baseline-logins: refused password logins at the audit's concurrency — the floor
//     of the probes.
//
// Metrics: ms per run and per tenant, the audit without probes over baseline-connect,
// the time of the server-wide configuration checks alone (a constant number of
// queries per server) and of the in-database checks, and the probes' login rate over
// the baseline's.
func BenchmarkAudit(b *testing.B) {
	ctx := context.Background()
	env := pgtest.Get(b)
	store, prov, wh := benchFleet(b, env)
	defer wipe(b, env)
	defer store.Close()
	_ = wh

	var connectBaseline time.Duration
	var probeRate float64

	b.Run("baseline-catalog", func(b *testing.B) {
		for b.Loop() {
			for _, s := range env.Servers {
				conn, err := dbconn.Connect(ctx, s.AdminDSN(b))
				if err != nil {
					b.Fatal(err)
				}
				for _, q := range []string{`SELECT datname, datacl::text FROM pg_database`,
					`SELECT r.rolname, (SELECT array_agg(m.roleid) FROM pg_auth_members m WHERE m.member = r.oid) FROM pg_roles r`} {
					rows, _ := conn.Query(ctx, q)
					rows.Close()
					if rows.Err() != nil {
						b.Fatal(rows.Err())
					}
				}
				conn.Close(ctx)
			}
		}
		report(b, benchTenants, 0)
	})

	b.Run("baseline-connect", func(b *testing.B) {
		tenants, err := store.ListTenants(ctx, catalog.TenantFilter{})
		if err != nil {
			b.Fatal(err)
		}
		servers := map[string]*tenantdb.Server{}
		for _, name := range []string{"pg-a", "pg-b"} {
			if servers[name], err = prov.Server(ctx, name); err != nil {
				b.Fatal(err)
			}
		}
		for b.Loop() {
			start := time.Now()
			g := errgroup.Group{}
			g.SetLimit(audit.DefaultConcurrency)
			for _, t := range tenants {
				g.Go(func() error {
					conn, err := servers[t.Server].Connect(ctx, t.Database)
					if err != nil {
						return err
					}
					defer conn.Close(ctx)
					var one int
					return conn.QueryRow(ctx, `SELECT 1`).Scan(&one)
				})
			}
			if err := g.Wait(); err != nil {
				b.Fatal(err)
			}
			connectBaseline = time.Since(start)
		}
		report(b, benchTenants, 0)
	})

	b.Run("audit-no-probes", func(b *testing.B) {
		var r audit.Report
		for b.Loop() {
			var err error
			r, err = audit.Run(ctx, audit.Options{Store: store, NoProbes: true, NoHistory: true})
			if err != nil {
				b.Fatal(err)
			}
			if !r.Passed {
				b.Fatalf("the benchmark fleet does not pass: %v", r.Violations[:min(3, len(r.Violations))])
			}
		}
		report(b, benchTenants, connectBaseline)
		b.ReportMetric(float64(r.Checks), "checks")
		b.ReportMetric(float64(r.Servers[0].Queries), "catalog-queries/server")
		b.ReportMetric(ms(r.Phases["servers"]+r.Phases["checks"]), "config-checks-ms")
		b.ReportMetric(ms(r.Phases["databases"]), "database-checks-ms")
	})

	b.Run("audit-probes", func(b *testing.B) {
		var r audit.Report
		for b.Loop() {
			var err error
			r, err = audit.Run(ctx, audit.Options{Store: store, NoHistory: true, Seed: 7})
			if err != nil {
				b.Fatal(err)
			}
			if !r.Passed {
				b.Fatalf("the benchmark fleet does not pass: %v", r.Violations[:min(3, len(r.Violations))])
			}
		}
		report(b, benchTenants, 0)
		b.ReportMetric(float64(r.Checks), "checks")
		b.ReportMetric(float64(r.Probes.Attempts), "login-attempts")
		probeRate = float64(r.Probes.Attempts) / r.Phases["probes"].Seconds()
		b.ReportMetric(probeRate, "probe-logins/s")
	})

	b.Run("baseline-logins", func(b *testing.B) {
		const attempts = 200
		srv, err := prov.Server(ctx, "pg-a")
		if err != nil {
			b.Fatal(err)
		}
		cfg := srv.ConnConfig("postgres")
		for b.Loop() {
			g := errgroup.Group{}
			g.SetLimit(audit.DefaultConcurrency)
			for i := 0; i < attempts; i++ {
				g.Go(func() error {
					c := cfg.Copy()
					c.User, c.Password = "t_nosuchrole_app", "not-the-password"
					conn, err := pgx.ConnectConfig(ctx, c)
					if err == nil {
						conn.Close(ctx)
						return fmt.Errorf("login unexpectedly succeeded")
					}
					return nil
				})
			}
			if err := g.Wait(); err != nil {
				b.Fatal(err)
			}
		}
		rate := float64(attempts*b.N) / b.Elapsed().Seconds()
		b.ReportMetric(rate, "logins/s")
		if probeRate > 0 {
			b.ReportMetric(probeRate/rate, "probe-rate/baseline")
		}
	})
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// report adds ms/run and ms/tenant, and the ratio to a baseline when one is given.
func report(b *testing.B, tenants int, baseline time.Duration) {
	perRun := ms(b.Elapsed()) / float64(b.N)
	b.ReportMetric(perRun, "ms/run")
	b.ReportMetric(perRun/float64(tenants), "ms/tenant")
	if baseline > 0 {
		b.ReportMetric(perRun/ms(baseline), "x-baseline-connect")
	}
}

// benchFleet creates benchTenants tenants, half on each server, with a warehouse.
func benchFleet(b *testing.B, env *pgtest.Env) (*catalog.Store, *provisioner.Provisioner, string) {
	b.Helper()
	ctx := context.Background()
	wipe(b, env)
	db := env.Control.NewDatabase(b, "catalog")
	dsn := env.Control.SuperDSN(db)
	if _, err := catalog.Init(ctx, dsn); err != nil {
		b.Fatal(err)
	}
	box, err := secret.LoadKey("", pgtest.Key())
	if err != nil {
		b.Fatal(err)
	}
	store, err := catalog.Open(ctx, dsn, box)
	if err != nil {
		b.Fatal(err)
	}
	prov := provisioner.New(store, nil)
	for i, name := range []string{"pg-a", "pg-b"} {
		if _, err := prov.AddServer(ctx, provisioner.AddServerOptions{Name: name, DSN: env.Servers[i].AdminDSN(b), Capacity: 1000}); err != nil {
			b.Fatal(err)
		}
	}
	wh := env.Control.NewDatabase(b, "warehouse")
	if _, err := prov.InitWarehouse(ctx, env.Control.SuperDSN(wh)); err != nil {
		b.Fatal(err)
	}
	start := time.Now()
	g := errgroup.Group{}
	g.SetLimit(4)
	var mu sync.Mutex
	var firstErr error
	for i := 0; i < benchTenants; i++ {
		g.Go(func() error {
			slug := fmt.Sprintf("bench-%03d", i)
			_, err := prov.Create(ctx, provisioner.CreateOptions{Slug: slug, Name: fmt.Sprintf("Bench Customer %03d", i),
				Domain: slug + ".example", Server: []string{"pg-a", "pg-b"}[i%2]})
			if err != nil {
				mu.Lock()
				firstErr = err
				mu.Unlock()
			}
			return err
		})
	}
	_ = g.Wait()
	if firstErr != nil {
		b.Fatal(firstErr)
	}
	b.Logf("fleet of %d tenants created in %s", benchTenants, time.Since(start).Round(time.Millisecond))
	return store, prov, wh
}
