package faulttest

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/tenantctl/tenantctl/internal/pgtest"
	"github.com/tenantctl/tenantctl/tenantdb"
)

// The frozen server is reached with short client-side bounds while it is frozen (see
// shortBounds) so the test stays quick; the defaults (connect 10 s, liveness 10 s + 5 s)
// scale the same figures.
const (
	frozenParams = "connect_timeout=2&liveness_interval=1s&liveness_timeout=1s"
	// frozenCommandBound: the in-flight statement gives up after 2 s, then each further
	// connection attempt to the frozen server after 2 s; a command makes a handful.
	frozenCommandBound = 45 * time.Second
)

// TestServerFrozenMidStatement freezes a tenant server (SIGSTOP, postmaster and every
// backend) while a fleet command has a statement in flight on it, at a point chosen
// deterministically: migrate up inside a migration that sleeps on that server only, and
// rollup run inside a COPY waiting for a lock. The command must end within a bound set
// by the client-side timeouts (the frozen server cannot enforce its statement_timeout,
// and TCP keepalives never notice a frozen process), name what failed, finish the
// healthy server's work, and the fleet must converge once the server is thawed.
func TestServerFrozenMidStatement(t *testing.T) {
	t.Parallel()
	healthy := pgtest.Dedicated(t, "healthy", nil)
	victim := pgtest.Dedicated(t, "victim", nil)
	f := newFleet(t, healthy, victim)
	for i := 0; i < 2; i++ {
		f.createTenant(fmt.Sprintf("ok-%d", i), "--server", "pg-a")
		f.createTenant(fmt.Sprintf("vic-%d", i), "--server", "pg-b")
	}
	f.must("rollup", "run")

	super := f.serverConn(1, "postgres")
	defer super.Close(context.Background())
	setSleep := func(on bool) {
		stmt := "ALTER ROLE ALL RESET tenantctl_test.sleep"
		if on {
			stmt = "ALTER ROLE ALL SET tenantctl_test.sleep = 'on'"
		}
		_, err := super.Exec(context.Background(), stmt)
		require.NoError(t, err)
	}

	// migrate up: a migration that sleeps a minute on the frozen server only (new
	// sessions there see the setting).
	f.nextMig++
	body := fmt.Sprintf("-- +goose Up\nSELECT pg_sleep(CASE WHEN current_setting('tenantctl_test.sleep', true) = 'on' THEN 60 ELSE 0 END);\n"+
		"CREATE TABLE fault_%d (id bigint PRIMARY KEY);\n\n-- +goose Down\nDROP TABLE fault_%d;\n", f.nextMig, f.nextMig)
	require.NoError(t, os.WriteFile(filepath.Join(f.migrations, fmt.Sprintf("%05d_frozen.sql", f.nextMig)), []byte(body), 0o644))
	setSleep(true)
	f.shortBounds(1, true)
	f.frozenMidStatement(victim, super, "pg_sleep", "state = 'active' AND query LIKE '%pg_sleep%'",
		"migrate", "up", "--canary", "0", "--max-failures", "0")
	f.shortBounds(1, false)
	for _, tn := range f.tenants() {
		if tn.Server == "pg-a" {
			require.Equal(t, int64(f.nextMig), tn.SchemaVersion, "healthy tenant %s migrated while pg-b was frozen", tn.Slug)
		}
	}
	setSleep(false)
	f.recoverFrom("after migrate up met a server frozen mid-statement")

	// rollup run: a victim tenant's table is locked, so the rollup's COPY waits on the
	// frozen server (its source session runs without statement_timeout).
	for _, slug := range []string{"ok-0", "vic-0"} {
		f.fill(slug, 20)
	}
	locker := f.serverConn(1, tenantdb.Database(f.tenant("vic-0").ID))
	ctx := context.Background()
	tx, err := locker.Begin(ctx)
	require.NoError(t, err)
	_, err = tx.Exec(ctx, "LOCK TABLE incidents, systems, users IN ACCESS EXCLUSIVE MODE")
	require.NoError(t, err)
	f.shortBounds(1, true)
	f.frozenMidStatement(victim, super, "a lock", "wait_event_type = 'Lock' AND application_name = 'tenantctl'", "rollup", "run")
	f.shortBounds(1, false)
	require.NoError(t, tx.Rollback(ctx))
	require.NoError(t, locker.Close(ctx))
	f.recoverFrom("after rollup run met a server frozen mid-statement")
}

// frozenMidStatement runs tenantctl args, freezes victim once a statement matching where
// runs there, and checks the command ends within frozenCommandBound, exit 1, naming the
// frozen server and why. victim is thawed before it returns.
func (f *fleet) frozenMidStatement(victim *pgtest.Server, super *pgx.Conn, what, where string, args ...string) {
	f.t.Helper()
	done := make(chan result, 1)
	go func() { done <- f.run(args...) }()
	deadline := time.Now().Add(2 * time.Minute)
	for {
		var n int
		require.NoError(f.t, super.QueryRow(context.Background(),
			"SELECT count(*) FROM pg_stat_activity WHERE pid <> pg_backend_pid() AND "+where).Scan(&n))
		if n > 0 {
			break
		}
		select {
		case r := <-done:
			f.t.Fatalf("tenantctl %v ended before waiting on %s on the victim\n%s", args, what, r)
		default:
		}
		require.True(f.t, time.Now().Before(deadline), "tenantctl %v never waited on %s on the victim", args, what)
		time.Sleep(20 * time.Millisecond)
	}
	victim.Freeze(f.t)
	frozen := time.Now()
	var r result
	select {
	case r = <-done:
	case <-time.After(2 * frozenCommandBound):
		victim.Thaw(f.t)
		f.t.Fatalf("tenantctl %v hung on a server frozen mid-statement", args)
	}
	took := time.Since(frozen)
	victim.Thaw(f.t)
	f.t.Logf("frozen mid-statement (%s): tenantctl %v: exit %d %s after the freeze", what, args, r.code, took.Round(time.Millisecond))
	require.Less(f.t, took, frozenCommandBound, "tenantctl %v must end within its bound\n%s", args, r)
	require.Equal(f.t, 1, r.code, "tenantctl %v\n%s", args, r)
	out := r.stdout + r.stderr
	require.True(f.t, strings.Contains(out, "vic-") || strings.Contains(out, "pg-b"), "the failure names the frozen server or its tenants\n%s", r)
	require.Contains(f.t, out, "stopped answering", "the failure says why\n%s", r)
}
