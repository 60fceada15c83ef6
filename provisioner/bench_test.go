package provisioner_test

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/tenantctl/tenantctl/internal/dbconn"
	"github.com/tenantctl/tenantctl/provisioner"
	"github.com/tenantctl/tenantctl/tenantdb"
)

// BenchmarkTenantCreate measures, in one run, the raw PostgreSQL baselines and
// tenantctl's two provisioning paths, per tenant:
//
//	raw_clone_ms           CREATE DATABASE … TEMPLATE <pre-migrated template> STRATEGY FILE_COPY
//	raw_create_migrate_ms  CREATE DATABASE + the tenant schema's SQL applied directly
//	fast_ms                tenantctl create (catalog, roles, clone, hardening, warehouse)
//	slow_ms                tenantctl create --no-template (create, goose migrations, hardening)
//
// Goal: fast path ≤ 1.2× raw clone and clearly faster than create-then-migrate.
func BenchmarkTenantCreate(b *testing.B) {
	const n = 10
	t := &testing.T{}
	bundle := setup(t)
	ctx := context.Background()
	srv, err := bundle.p.Server(ctx, "pg-a")
	require.NoError(b, err)
	tmpl, err := srv.EnsureTemplate(ctx, bundle.p.TenantFS())
	require.NoError(b, err)
	sqlBytes, err := os.ReadFile("../migrations/tenant/00001_service_desk.sql")
	require.NoError(b, err)
	upSQL := strings.Split(strings.Split(string(sqlBytes), "-- +goose Down")[0], "-- +goose Up")[1]
	admin, err := dbconn.Connect(ctx, bundle.env.Servers[0].AdminDSN(t))
	require.NoError(b, err)
	defer admin.Close(ctx)

	per := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 / n }
	for b.Loop() {
		// Raw clone of the pre-migrated template.
		var names []string
		start := time.Now()
		for i := 0; i < n; i++ {
			name := "bench_clone_" + tenantdb.NewID()
			_, err := admin.Exec(ctx, "CREATE DATABASE "+name+" TEMPLATE "+tmpl.Name+" STRATEGY FILE_COPY")
			require.NoError(b, err)
			names = append(names, name)
		}
		rawClone := time.Since(start)
		// Raw create + the same SQL, applied directly.
		start = time.Now()
		for i := 0; i < n; i++ {
			name := "bench_raw_" + tenantdb.NewID()
			_, err := admin.Exec(ctx, "CREATE DATABASE "+name+" TEMPLATE template0 STRATEGY FILE_COPY")
			require.NoError(b, err)
			cfg := admin.Config().Copy()
			cfg.Database = name
			c, err := pgx.ConnectConfig(ctx, cfg)
			require.NoError(b, err)
			_, err = c.Exec(ctx, upSQL)
			require.NoError(b, err)
			c.Close(ctx)
			names = append(names, name)
		}
		rawMigrate := time.Since(start)
		b.StopTimer()
		for _, name := range names {
			_, err := admin.Exec(ctx, "DROP DATABASE "+name)
			require.NoError(b, err)
		}
		b.StartTimer()

		steps := map[string]time.Duration{}
		create := func(slow bool) time.Duration {
			last := time.Now()
			bundle.p.Hooks.AfterStep = func(step string) error {
				if !slow {
					steps[step] += time.Since(last)
				}
				last = time.Now()
				return nil
			}
			start := time.Now()
			for i := 0; i < n; i++ {
				slug := fmt.Sprintf("bench-%v-%d-%s", slow, i, tenantdb.NewID()[:4])
				last = time.Now()
				_, err := bundle.p.Create(ctx, provisioner.CreateOptions{Slug: slug, Name: slug, Domain: slug + ".example", Server: "pg-a", SlowPath: slow})
				require.NoError(b, err)
			}
			d := time.Since(start)
			bundle.p.Hooks.AfterStep = nil
			b.StopTimer()
			bundle.purgeAll(t)
			b.StartTimer()
			return d
		}
		fast := create(false)
		slow := create(true)
		b.ReportMetric(per(rawClone), "raw_clone_ms")
		b.ReportMetric(per(rawMigrate), "raw_create_migrate_ms")
		b.ReportMetric(per(fast), "fast_ms")
		b.ReportMetric(per(slow), "slow_ms")
		for step, d := range steps {
			b.ReportMetric(per(d), "fast_step_"+step+"_ms")
		}
		b.ReportMetric(float64(fast)/float64(rawClone), "fast/raw_clone")
		b.ReportMetric(float64(fast)/float64(rawMigrate), "fast/raw_create_migrate")
	}
}
