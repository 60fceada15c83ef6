package dbconn_test

import (
	"context"
	"io"
	"net"
	"os"
	"strconv"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/stretchr/testify/require"

	"github.com/tenantctl/tenantctl/internal/dbconn"
	"github.com/tenantctl/tenantctl/internal/pgtest"
	"github.com/tenantctl/tenantctl/migrations"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m, 0)) }

// Short intervals keep the frozen-server tests quick: a statement on a frozen server must
// end within interval + check timeout + slack.
const (
	testInterval = 500 * time.Millisecond
	testCheck    = time.Second
	frozenBound  = testInterval + testCheck + 3*time.Second
)

// withParams adds query parameters to a URL DSN.
func withParams(dsn string, kv ...string) string {
	for i := 0; i+1 < len(kv); i += 2 {
		sep := "?"
		if strings.Contains(dsn, "?") {
			sep = "&"
		}
		dsn += sep + kv[i] + "=" + kv[i+1]
	}
	return dsn
}

// serverAddr is host:port as the cluster's DSN names it: what the errors must name.
func serverAddr(t *testing.T, dsn string) string {
	cfg, err := pgx.ParseConfig(dsn)
	require.NoError(t, err)
	return net.JoinHostPort(cfg.Host, strconv.Itoa(int(cfg.Port)))
}

// waitActive waits until a statement holding marker runs on the server.
func waitActive(t *testing.T, super *pgx.Conn, marker string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		var n int
		require.NoError(t, super.QueryRow(context.Background(),
			`SELECT count(*) FROM pg_stat_activity WHERE state = 'active' AND query LIKE '%' || $1 || '%' AND pid <> pg_backend_pid()`,
			marker).Scan(&n))
		if n > 0 {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("statement %s never started", marker)
}

// frozenMidStatement runs run (a statement that takes 30 s on a live server), freezes the
// server once the statement marked marker is running, and returns how long after the
// freeze run's error came, and the error. The server is thawed before returning.
func frozenMidStatement(t *testing.T, srv *pgtest.Server, super *pgx.Conn, marker string, run func(context.Context) error) (time.Duration, error) {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- run(context.Background()) }()
	waitActive(t, super, marker)
	srv.Freeze(t)
	defer srv.Thaw(t)
	frozen := time.Now()
	select {
	case err := <-done:
		return time.Since(frozen), err
	case <-time.After(60 * time.Second):
		srv.Thaw(t)
		t.Fatalf("%s hung on a frozen server", marker)
		return 0, nil
	}
}

func requireSilent(t *testing.T, err error, took time.Duration, server string) {
	t.Helper()
	var silent *dbconn.SilentServerError
	require.ErrorAs(t, err, &silent, "a statement on a frozen server fails with a SilentServerError")
	require.Equal(t, server, silent.Server)
	require.Contains(t, err.Error(), "server "+server+" stopped answering: no reply to a liveness check within 1s")
	require.Less(t, took, frozenBound, "the statement ends within interval + check timeout")
	t.Logf("frozen mid-statement: failed %s after the freeze: %v", took.Round(time.Millisecond), err)
}

// TestFrozenServerEndsStatementsInFlight freezes a server (SIGSTOP) while a statement is
// in flight on an open connection, through every way tenantctl talks to a server: a pgx
// statement on a session without statement_timeout, a pooled one, a raw pgconn COPY (the
// rollup pipe's path), and a goose migration through database/sql. Each ends within the
// liveness bound with an error naming the server; the server's own statement_timeout
// cannot fire while it is frozen and TCP keepalives never notice (its kernel answers).
func TestFrozenServerEndsStatementsInFlight(t *testing.T) {
	t.Parallel()
	srv := pgtest.Dedicated(t, "frozen", nil)
	ctx := context.Background()
	super, err := dbconn.Connect(ctx, srv.SuperDSN("postgres"))
	require.NoError(t, err)
	defer super.Close(ctx)
	server := serverAddr(t, srv.SuperDSN("postgres"))
	dsn := withParams(srv.SuperDSN("postgres"), "liveness_interval", testInterval.String(), "liveness_timeout", testCheck.String(),
		"statement_timeout", "0")

	t.Run("statement without statement_timeout", func(t *testing.T) {
		conn, err := dbconn.Connect(ctx, dsn)
		require.NoError(t, err)
		defer conn.Close(ctx)
		took, err := frozenMidStatement(t, srv, super, "frozen-1", func(ctx context.Context) error {
			_, err := conn.Exec(ctx, "SELECT pg_sleep(30) -- frozen-1")
			return err
		})
		requireSilent(t, err, took, server)
		require.True(t, conn.IsClosed(), "the connection is given up")
	})

	t.Run("pool", func(t *testing.T) {
		pool, err := dbconn.Pool(ctx, dsn, 2)
		require.NoError(t, err)
		defer pool.Close()
		took, err := frozenMidStatement(t, srv, super, "frozen-2", func(ctx context.Context) error {
			var n int
			return pool.QueryRow(ctx, "SELECT 1 FROM pg_sleep(30) -- frozen-2").Scan(&n)
		})
		requireSilent(t, err, took, server)
		// The pool recovers once the server is back.
		var one int
		require.NoError(t, pool.QueryRow(ctx, "SELECT 1").Scan(&one))
	})

	t.Run("raw COPY", func(t *testing.T) {
		conn, err := dbconn.Connect(ctx, dsn)
		require.NoError(t, err)
		defer conn.Close(ctx)
		took, err := frozenMidStatement(t, srv, super, "frozen-3", func(ctx context.Context) error {
			_, err := conn.PgConn().CopyTo(ctx, io.Discard,
				"COPY (SELECT g, pg_sleep(CASE WHEN g = 2 THEN 30 ELSE 0 END) FROM generate_series(1, 3) g) TO STDOUT -- frozen-3")
			return err
		})
		requireSilent(t, err, took, server)
	})

	t.Run("goose migration", func(t *testing.T) {
		cfg, err := dbconn.ParseConfig(dsn)
		require.NoError(t, err)
		fsys := fstest.MapFS{"00001_slow.sql": {Data: []byte("-- +goose Up\nSELECT pg_sleep(30); -- frozen-4\n")}}
		p, err := migrations.NewProvider(ctx, cfg, fsys, migrations.Options{})
		require.NoError(t, err)
		defer p.Close()
		took, err := frozenMidStatement(t, srv, super, "frozen-4", func(ctx context.Context) error {
			_, err := p.Up(ctx)
			return err
		})
		requireSilent(t, err, took, server)
	})

	t.Run("database/sql from a config", func(t *testing.T) {
		cfg, err := dbconn.ParseConfig(dsn)
		require.NoError(t, err)
		db := stdlib.OpenDB(*cfg)
		defer db.Close()
		took, err := frozenMidStatement(t, srv, super, "frozen-5", func(ctx context.Context) error {
			_, err := db.ExecContext(ctx, "SELECT pg_sleep(30) -- frozen-5")
			return err
		})
		requireSilent(t, err, took, server)
	})

	t.Run("client deadline without liveness checks", func(t *testing.T) {
		// With liveness checks off, a session with statement_timeout still ends at its
		// statement_timeout plus the grace, even though the frozen server cannot cancel.
		conn, err := dbconn.Connect(ctx, withParams(srv.SuperDSN("postgres"), "liveness_interval", "0",
			"statement_grace", "500ms", "statement_timeout", "2000"))
		require.NoError(t, err)
		defer conn.Close(ctx)
		took, err := frozenMidStatement(t, srv, super, "frozen-6", func(ctx context.Context) error {
			// Frozen before the server's own timeout (2 s) can fire.
			_, err := conn.Exec(ctx, "SELECT pg_sleep(30) -- frozen-6")
			return err
		})
		var dl *dbconn.StatementDeadlineError
		require.ErrorAs(t, err, &dl)
		require.Equal(t, server, dl.Server)
		require.Equal(t, 2*time.Second, dl.StatementTimeout)
		require.Less(t, took, 2500*time.Millisecond+2*time.Second)
		t.Logf("frozen mid-statement, no liveness checks: failed %s after the freeze: %v", took.Round(time.Millisecond), err)
	})
}

// TestSlowServerIsNotCancelled: a live server that takes longer than the liveness
// interval (and a session whose statement_timeout was raised with SET) is left alone.
func TestSlowServerIsNotCancelled(t *testing.T) {
	t.Parallel()
	srv := pgtest.Dedicated(t, "slow", nil)
	ctx := context.Background()
	dsn := withParams(srv.SuperDSN("postgres"), "liveness_interval", "200ms", "liveness_timeout", "1s",
		"statement_grace", "200ms", "statement_timeout", "300")

	conn, err := dbconn.Connect(ctx, dsn)
	require.NoError(t, err)
	defer conn.Close(ctx)
	// The server's own statement_timeout still fires first, with its own error.
	_, err = conn.Exec(ctx, "SELECT pg_sleep(2)")
	require.Equal(t, "57014", dbconn.SQLState(err), "the server cancels at its statement_timeout: %v", err)
	// A session that raised its statement_timeout is not cut at the startup value.
	_, err = conn.Exec(ctx, "SET statement_timeout = 0")
	require.NoError(t, err)
	start := time.Now()
	_, err = conn.Exec(ctx, "SELECT pg_sleep(1.5)")
	require.NoError(t, err, "a slow statement on a live server runs to its end")
	require.GreaterOrEqual(t, time.Since(start), 1500*time.Millisecond)

	// Pooled, raw and COPY paths too, well past several liveness intervals.
	pool, err := dbconn.Pool(ctx, withParams(srv.SuperDSN("postgres"), "liveness_interval", "200ms", "liveness_timeout", "1s"), 2)
	require.NoError(t, err)
	defer pool.Close()
	var slept string
	require.NoError(t, pool.QueryRow(ctx, "SELECT pg_sleep(1)::text").Scan(&slept))
	pc, err := pool.Acquire(ctx)
	require.NoError(t, err)
	defer pc.Release()
	var out strings.Builder
	_, err = pc.Conn().PgConn().CopyTo(ctx, &out, "COPY (SELECT 1 FROM pg_sleep(1)) TO STDOUT")
	require.NoError(t, err)
	require.Equal(t, "1\n", out.String())
}

func TestWatchParameters(t *testing.T) {
	t.Parallel()
	cfg, err := dbconn.ParseConfig("postgres://u@h:5432/db?liveness_interval=2s&liveness_timeout=1s&statement_grace=5s&sslmode=disable")
	require.NoError(t, err)
	for _, p := range dbconn.ClientParams {
		require.NotContains(t, cfg.RuntimeParams, p, "tenantctl's own parameters never reach the server")
	}
	require.NotNil(t, cfg.DialFunc)
	require.NotNil(t, cfg.Tracer)
	for _, bad := range []string{
		"postgres://u@h/db?liveness_interval=soon",
		"postgres://u@h/db?liveness_timeout=-1s",
		"postgres://u@h/db?liveness_timeout=0s",
		"host=h statement_grace=x",
	} {
		_, err := dbconn.ParseConfig(bad)
		require.Error(t, err, bad)
		require.Contains(t, err.Error(), "must be", bad)
		_, err = dbconn.Pool(context.Background(), bad, 1)
		require.Error(t, err, bad)
	}
	// Liveness checks off is allowed.
	_, err = dbconn.ParseConfig("postgres://u@h/db?liveness_interval=0")
	require.NoError(t, err)
}

// A watched connection costs a timer reset per socket read and nothing per statement
// beyond two atomic stores: compare with a plain pgx connection.
func BenchmarkSelectOne(b *testing.B) {
	ctx := context.Background()
	dsn := pgtest.Get(b).Control.SuperDSN("postgres")
	for _, c := range []struct {
		name    string
		connect func() (*pgx.Conn, error)
	}{
		{"watched", func() (*pgx.Conn, error) { return dbconn.Connect(ctx, dsn) }},
		{"plain", func() (*pgx.Conn, error) { return pgx.Connect(ctx, dsn) }},
	} {
		b.Run(c.name, func(b *testing.B) {
			conn, err := c.connect()
			if err != nil {
				b.Fatal(err)
			}
			defer conn.Close(ctx)
			var n int
			for b.Loop() {
				if err := conn.QueryRow(ctx, "SELECT 1").Scan(&n); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
