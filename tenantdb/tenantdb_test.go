package tenantdb

import (
	"context"
	"os"
	"testing"
	"testing/fstest"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/tenantctl/tenantctl/internal/pgtest"
	"github.com/tenantctl/tenantctl/internal/validate"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m, 1)) }

// loginAs logs in to database db of super's cluster as role with password pw, and
// closes the session: nil when the server let it in.
func loginAs(t *testing.T, super *pgtest.Server, db, role, pw string) error {
	t.Helper()
	cfg, err := pgx.ParseConfig(super.SuperDSN(db))
	require.NoError(t, err)
	cfg.User, cfg.Password = role, pw
	c, err := pgx.ConnectConfig(context.Background(), cfg)
	if err == nil {
		c.Close(context.Background())
	}
	return err
}

func testServer(t *testing.T) *Server {
	t.Helper()
	env := pgtest.Get(t)
	srv, err := NewServer("pg-test", env.Servers[0].AdminDSN(t), 0, "")
	require.NoError(t, err)
	t.Cleanup(srv.Close)
	return srv
}

// A timeout that cannot be quoted must stop the migration before it starts: falling
// back to '0' would run it with the timeout turned off.
func TestUnquotableTimeoutIsRefusedNotDisabled(t *testing.T) {
	t.Parallel()
	srv := testServer(t)
	for name, o := range map[string]MigrateOptions{
		"lock_timeout":      {LockTimeout: `5s\`, StatementTimeout: "1min"},
		"statement_timeout": {LockTimeout: "5s", StatementTimeout: "1min\x00"},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			p, err := srv.MigrationProvider(context.Background(), "00000000-0000-0000-0000-000000000000", fstest.MapFS{}, o)
			require.Nil(t, p, "no provider, so no migration runs")
			require.ErrorIs(t, err, ErrUnquotable)
			require.ErrorIs(t, err, validate.ErrInvalid, "bad input: exit status 2")
			require.ErrorContains(t, err, name)
		})
	}
}

// Settings reach the server as given (or the connection fails), and quoted literals
// read back unchanged.
func TestQuotedSettingsAndLiteralsReachTheServerUnchanged(t *testing.T) {
	t.Parallel()
	srv := testServer(t)
	ctx := context.Background()
	conn, err := srv.Connect(ctx, "postgres")
	require.NoError(t, err)
	defer conn.Close(ctx)

	// Migration sessions get their role and timeouts in the startup packet.
	cfg, err := srv.migrationConfig("postgres", srv.AdminRole(), MigrateOptions{LockTimeout: "250ms", StatementTimeout: "90s"})
	require.NoError(t, err)
	mconn, err := pgx.ConnectConfig(ctx, cfg)
	require.NoError(t, err)
	var lock, stmt, role string
	require.NoError(t, mconn.QueryRow(ctx, "SELECT current_setting('lock_timeout'), current_setting('statement_timeout'), current_user").Scan(&lock, &stmt, &role))
	mconn.Close(ctx)
	require.Equal(t, []string{"250ms", "90s", srv.AdminRole()}, []string{lock, stmt, role}, "set, not turned off")
	// A value the server refuses fails the connection: never a silent default.
	bad, err := srv.migrationConfig("postgres", srv.AdminRole(), MigrateOptions{LockTimeout: "5 parsecs"})
	require.NoError(t, err)
	_, err = pgx.ConnectConfig(ctx, bad)
	require.Error(t, err)

	for _, v := range []string{"", "plain", "it's", "''; DROP TABLE x; --", "ünïcödé", "$$dollar$$"} {
		lit, err := literal(v)
		require.NoError(t, err)
		var got string
		require.NoError(t, conn.QueryRow(ctx, "SELECT "+lit+"::text").Scan(&got))
		require.Equal(t, v, got)
	}
}

func TestDatabaseExists(t *testing.T) {
	t.Parallel()
	srv := testServer(t)
	ctx := context.Background()
	ok, err := srv.DatabaseExists(ctx, "postgres")
	require.NoError(t, err)
	require.True(t, ok)
	ok, err = srv.DatabaseExists(ctx, "tenantctl_no_such_"+pgtest.RandomSuffix())
	require.NoError(t, err)
	require.False(t, ok)
}

// TestDropDatabaseOutlastsSessionsItCannotEnd: a least-privilege admin's DROP DATABASE
// WITH (FORCE) is refused while a session it may not signal is in the database (an
// autovacuum worker in production; a superuser's session here). The drop waits for
// it to leave instead of failing the purge.
func TestDropDatabaseOutlastsSessionsItCannotEnd(t *testing.T) {
	t.Parallel()
	srv := testServer(t)
	srv.VersionNum = 150000 // WITH (FORCE), as the catalog records for these servers
	ctx := context.Background()
	env := pgtest.Get(t)
	name := "tenantctl_drop_" + pgtest.RandomSuffix()
	env.Servers[0].Exec(t, "postgres", "CREATE DATABASE "+name+" OWNER "+srv.AdminRole())
	su := env.Servers[0].Conn(t, name)
	go func() {
		time.Sleep(400 * time.Millisecond)
		su.Close(context.Background())
	}()
	start := time.Now()
	require.NoError(t, srv.dropDatabase(ctx, name), "dropped once the session it could not end was gone")
	require.Greater(t, time.Since(start), 300*time.Millisecond, "it had to wait")
	ok, err := srv.DatabaseExists(ctx, name)
	require.NoError(t, err)
	require.False(t, ok)
}

// TestDropTemplateFinishesAnInterruptedDrop: a DROP DATABASE killed mid-way leaves the
// database invalid (datconnlimit -2), refusing every ALTER. Dropping the template again
// (reconcile, a rebuild) must finish the drop rather than fail on it for ever.
func TestDropTemplateFinishesAnInterruptedDrop(t *testing.T) {
	t.Parallel()
	srv := testServer(t)
	ctx := context.Background()
	name := TemplatePrefix + "interrupted_" + pgtest.RandomSuffix()
	super := pgtest.Get(t).Servers[0]
	super.Exec(t, "postgres", "CREATE DATABASE "+name+" OWNER "+pgtest.AdminRole,
		// What PostgreSQL records first when it drops a database.
		"UPDATE pg_database SET datconnlimit = -2 WHERE datname = '"+name+"'")
	t.Cleanup(func() { super.Exec(t, "postgres", "DROP DATABASE IF EXISTS "+name) })
	require.NoError(t, srv.DropTemplate(ctx, name))
	ok, err := srv.DatabaseExists(ctx, name)
	require.NoError(t, err)
	require.False(t, ok, "the interrupted drop was finished")
}
