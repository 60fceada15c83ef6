package mover_test

import (
	"context"
	"os"
	"os/exec"
	"strconv"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/tenantctl/tenantctl/catalog"
	"github.com/tenantctl/tenantctl/internal/pgtest"
	"github.com/tenantctl/tenantctl/mover"
	"github.com/tenantctl/tenantctl/provisioner"
	"github.com/tenantctl/tenantctl/secret"
	"github.com/tenantctl/tenantctl/tenantdb"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m, 2)) }

// fleet is a catalog with two servers.
func fleet(tb testing.TB) (*mover.Mover, *provisioner.Provisioner) {
	tb.Helper()
	env := pgtest.Get(tb)
	ctx := context.Background()
	dsn := env.Control.SuperDSN(env.Control.NewDatabase(tb, "catalog"))
	_, err := catalog.Init(ctx, dsn)
	require.NoError(tb, err)
	box, err := secret.LoadKey("", pgtest.Key())
	require.NoError(tb, err)
	store, err := catalog.Open(ctx, dsn, box)
	require.NoError(tb, err)
	tb.Cleanup(store.Close)
	p := provisioner.New(store, hclog.NewNullLogger())
	tb.Cleanup(p.Close)
	for i, name := range []string{"pg-a", "pg-b"} {
		_, err := p.AddServer(ctx, provisioner.AddServerOptions{Name: name, DSN: env.Servers[i].AdminDSN(tb), Capacity: 100})
		require.NoError(tb, err)
	}
	// Step timings at debug level, for reading where a move spends its time.
	return mover.New(p, hclog.New(&hclog.LoggerOptions{Name: "bench", Level: hclog.Debug, Output: os.Stderr})), p
}

// BenchmarkMoveDump moves one tenant of TENANTCTL_BENCH_MOVE_MB megabytes (default 100)
// back and forth between two servers with method dump and reports the downtime (from
// suspension to resume) per operation and per GiB. Sub-benchmark "script" is the
// baseline an operator would script by hand: pg_dump -Fc | pg_restore as superuser
// into a fresh database, with no verification.
//
//	TENANTCTL_BENCH_MOVE_MB=1024 go test -run '^$' -bench BenchmarkMoveDump -benchtime 1x -timeout 60m ./mover/
func BenchmarkMoveDump(b *testing.B) {
	mb := 100
	if v := os.Getenv("TENANTCTL_BENCH_MOVE_MB"); v != "" {
		var err error
		mb, err = strconv.Atoi(v)
		require.NoError(b, err)
	}
	ctx := context.Background()
	m, p := fleet(b)
	t, err := p.Create(ctx, provisioner.CreateOptions{Slug: "bench-move", Name: "Bench", Domain: "bench-move.example", Server: "pg-a"})
	require.NoError(b, err)
	b.Cleanup(func() {
		_ = p.Delete(context.Background(), provisioner.DeleteOptions{Slug: t.Slug, Confirm: t.Slug, Purge: true})
	})
	env := pgtest.Get(b)
	conn, err := pgx.Connect(ctx, env.Servers[0].SuperDSN(tenantdb.Database(t.ID)))
	require.NoError(b, err)
	// Rows of about 1 KiB: an incident with a long title. 1,000 rows per MiB.
	_, err = conn.Exec(ctx, `INSERT INTO users (email, full_name) VALUES ('bench@bench-move.example', 'Bench')`)
	require.NoError(b, err)
	for done := 0; done < mb; done += 64 {
		n := min(64, mb-done) * 1000
		_, err = conn.Exec(ctx, `INSERT INTO incidents (title, priority, reporter_id, opened_at)
			SELECT 'incident ' || g || ' ' || repeat(md5(g::text), 30), 1 + g % 4, (SELECT min(id) FROM users), now() - g * interval '1 minute'
			FROM generate_series(1, $1::int) g`, n)
		require.NoError(b, err)
	}
	_, err = conn.Exec(ctx, `VACUUM ANALYZE incidents`)
	require.NoError(b, err)
	var size int64
	require.NoError(b, conn.QueryRow(ctx, `SELECT pg_database_size(current_database())`).Scan(&size))
	conn.Close(ctx)
	gib := float64(size) / (1 << 30)
	b.Logf("tenant database: %.0f MiB", float64(size)/(1<<20))

	b.Run("move", func(b *testing.B) {
		zero := time.Duration(0)
		to := map[string]string{"pg-a": "pg-b", "pg-b": "pg-a"}
		where := "pg-a"
		var downtime, total time.Duration
		for b.Loop() {
			res, err := m.Move(ctx, mover.MoveOptions{Slug: t.Slug, To: to[where], KeepSource: &zero})
			require.NoError(b, err)
			where = res.To
			downtime += res.Downtime
			total += res.Duration
			b.Logf("moved %.0f MiB: downtime %s, total %s, archive %.0f MiB", float64(size)/(1<<20), res.Downtime.Round(time.Millisecond),
				res.Duration.Round(time.Millisecond), float64(res.Bytes)/(1<<20))
		}
		b.ReportMetric(downtime.Seconds()/float64(b.N), "downtime-s/op")
		b.ReportMetric(downtime.Seconds()/float64(b.N)/gib, "downtime-s/GiB")
		b.ReportMetric(total.Seconds()/float64(b.N)/gib, "total-s/GiB")
	})

	b.Run("script", func(b *testing.B) {
		src := env.Servers[0]
		cur, err := p.Store.GetTenant(ctx, t.Slug)
		require.NoError(b, err)
		if cur.Server == "pg-b" {
			src = env.Servers[1]
		}
		for b.Loop() {
			dst := env.Servers[1-map[string]int{"pg-a": 0, "pg-b": 1}[cur.Server]].NewDatabase(b, "script")
			start := time.Now()
			cmd := exec.Command("bash", "-c", `set -o pipefail; /usr/lib/postgresql/15/bin/pg_dump -Fc --compress=0 "$SRC" | /usr/lib/postgresql/15/bin/pg_restore --no-owner --no-acl -d "$DST"`)
			cmd.Env = append(os.Environ(), "SRC="+src.SuperDSN(tenantdb.Database(t.ID)), "DST="+env.Servers[1-map[string]int{"pg-a": 0, "pg-b": 1}[cur.Server]].SuperDSN(dst))
			out, err := cmd.CombinedOutput()
			require.NoError(b, err, string(out))
			d := time.Since(start)
			b.ReportMetric(d.Seconds()/gib, "s/GiB")
			b.Logf("pg_dump | pg_restore by hand: %s", d.Round(time.Millisecond))
		}
	})
}

// BenchmarkEvacuate empties a server of 20 small tenants (a few hundred rows each) with
// method dump, two and four moves at a time, and reports the time per evacuation.
//
//	go test -run '^$' -bench BenchmarkEvacuate -benchtime 1x ./mover/
func BenchmarkEvacuate(b *testing.B) {
	for _, conc := range []int{2, 4} {
		b.Run(strconv.Itoa(conc), func(b *testing.B) {
			ctx := context.Background()
			m, p := fleet(b)
			for i := range 20 {
				slug := "evac-" + strconv.Itoa(i) + "-" + pgtest.RandomSuffix()[:4]
				t, err := p.Create(ctx, provisioner.CreateOptions{Slug: slug, Name: "Evac", Domain: slug + ".example", Server: "pg-a"})
				require.NoError(b, err)
				b.Cleanup(func() {
					_ = p.Delete(context.Background(), provisioner.DeleteOptions{Slug: t.Slug, Confirm: t.Slug, Purge: true})
				})
				srv := pgtest.Get(b).Servers[0]
				srv.Exec(b, tenantdb.Database(t.ID), `INSERT INTO users (email, full_name) SELECT 'u' || g || '@x.example', 'U' FROM generate_series(1, 200) g`,
					`INSERT INTO incidents (title, reporter_id) SELECT 'incident ' || g, 1 FROM generate_series(1, 600) g`)
			}
			zero := time.Duration(0)
			for b.Loop() {
				start := time.Now()
				eo := mover.EvacuateOptions{Server: "pg-a", KeepSource: &zero}
				eo.Concurrency = conc
				res, err := m.Evacuate(ctx, eo)
				require.NoError(b, err)
				require.True(b, res.Empty)
				var worst time.Duration
				for _, t := range res.Tenants {
					worst = max(worst, t.Downtime)
				}
				b.ReportMetric(time.Since(start).Seconds(), "s/evacuation")
				b.ReportMetric(worst.Seconds(), "max-downtime-s")
			}
		})
	}
}
