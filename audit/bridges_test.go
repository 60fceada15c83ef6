package audit_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tenantctl/tenantctl/audit"
	"github.com/tenantctl/tenantctl/tenantdb"
)

// appQuery logs in to the tenant's own database with its app credentials and returns
// the first column of the first row of sql, as text.
func (f *fleet) appQuery(t *testing.T, slug, sql string, args ...any) string {
	t.Helper()
	ctx := context.Background()
	tn := f.tenants[slug]
	conn, err := f.login(t, slug, tenantdb.AppRole(tn.ID), f.appPassword(t, slug), tn.Database)
	require.NoError(t, err)
	defer conn.Close(ctx)
	var out string
	require.NoError(t, conn.QueryRow(ctx, sql, args...).Scan(&out))
	return out
}

// TestBridgesNameBothEnds builds bridges out of tenant databases into neighbours' — a
// foreign server with a PUBLIC user mapping, a dblink view on another server, a
// subscription streaming through a logical slot — proves each lets one customer's app
// credentials read the other's row, and checks the audit names both the tenant the
// bridge lives in and the tenant it reaches.
func TestBridgesNameBothEnds(t *testing.T) {
	t.Parallel()
	f := setup(t)
	alpha, beta, gamma := f.tenants["alpha"], f.tenants["beta"], f.tenants["gamma"]
	a, b := f.servers[0], f.servers[1]
	// Alpha's row gets an id beta's table does not use, so that it can be copied there.
	a.Exec(t, alpha.Database, "INSERT INTO users (id, email, full_name) VALUES (1000, 'ceo@alphawidgets.example', 'Alpha CEO')")
	a.Exec(t, beta.Database, "INSERT INTO users (email, full_name) VALUES ('ceo@betalogistics.example', 'Beta CEO')")

	// 1. In alpha's database, a foreign server into beta's with a PUBLIC user mapping.
	a.Exec(t, alpha.Database, "CREATE EXTENSION postgres_fdw",
		fmt.Sprintf("CREATE SERVER audit_test_fdw FOREIGN DATA WRAPPER postgres_fdw OPTIONS (host '127.0.0.1', port '%d', dbname '%s')", a.Cluster.Port, beta.Database),
		fmt.Sprintf("CREATE USER MAPPING FOR PUBLIC SERVER audit_test_fdw OPTIONS (user '%s', password '%s')", tenantdb.AppRole(beta.ID), f.appPassword(t, "beta")),
		"CREATE FOREIGN TABLE public.audit_test_stolen (email text) SERVER audit_test_fdw OPTIONS (table_name 'users')",
		"GRANT SELECT ON public.audit_test_stolen TO "+tenantdb.AppRole(alpha.ID))
	t.Cleanup(func() { a.Exec(t, alpha.Database, "DROP EXTENSION IF EXISTS postgres_fdw CASCADE") })
	require.Equal(t, "ceo@betalogistics.example", f.appQuery(t, "alpha", "SELECT email FROM public.audit_test_stolen WHERE email LIKE 'ceo@%'"))

	// 2. In gamma's database on the other server, a dblink view into alpha's.
	b.Exec(t, gamma.Database, "CREATE EXTENSION dblink",
		fmt.Sprintf("CREATE VIEW public.audit_test_peek AS SELECT * FROM dblink('host=127.0.0.1 port=%d dbname=%s user=%s password=%s', 'SELECT email FROM users') AS x(email text)",
			a.Cluster.Port, alpha.Database, tenantdb.AppRole(alpha.ID), f.appPassword(t, "alpha")),
		"GRANT SELECT ON public.audit_test_peek TO "+tenantdb.AppRole(gamma.ID))
	t.Cleanup(func() { b.Exec(t, gamma.Database, "DROP EXTENSION IF EXISTS dblink CASCADE") })
	require.Equal(t, "ceo@alphawidgets.example", f.appQuery(t, "gamma", "SELECT email FROM public.audit_test_peek WHERE email LIKE 'ceo@%'"))

	// 3. In beta's database, a subscription to alpha's users through a logical slot on
	// alpha's database: alpha's rows land in beta's own table.
	a.Exec(t, alpha.Database, "CREATE PUBLICATION audit_test_pub FOR TABLE public.users")
	// On one cluster the slot is made first (CREATE SUBSCRIPTION would wait for itself).
	a.Exec(t, alpha.Database, "SELECT pg_create_logical_replication_slot('audit_test_sub', 'pgoutput')")
	a.Exec(t, beta.Database, fmt.Sprintf("CREATE SUBSCRIPTION audit_test_sub CONNECTION '%s' PUBLICATION audit_test_pub WITH (connect = false)", a.SuperDSN(alpha.Database)),
		"ALTER SUBSCRIPTION audit_test_sub ENABLE", "ALTER SUBSCRIPTION audit_test_sub REFRESH PUBLICATION")
	dropSub := func() {
		a.Exec(t, beta.Database, "DO $$ BEGIN IF EXISTS (SELECT FROM pg_subscription WHERE subname = 'audit_test_sub') THEN "+
			"ALTER SUBSCRIPTION audit_test_sub DISABLE; ALTER SUBSCRIPTION audit_test_sub SET (slot_name = NONE); DROP SUBSCRIPTION audit_test_sub; END IF; END $$")
		require.Eventually(t, func() bool {
			_, err := a.Conn(t, alpha.Database).Exec(context.Background(),
				"SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = 'audit_test_sub'")
			return err == nil
		}, 30*time.Second, 200*time.Millisecond)
		a.Exec(t, alpha.Database, "DROP PUBLICATION IF EXISTS audit_test_pub")
	}
	t.Cleanup(dropSub)
	require.Eventually(t, func() bool {
		return len(query(t, a.Conn(t, beta.Database), "SELECT email FROM users WHERE email = 'ceo@alphawidgets.example'")) == 1
	}, 60*time.Second, 200*time.Millisecond)
	require.Equal(t, "ceo@alphawidgets.example", f.appQuery(t, "beta", "SELECT email FROM users WHERE email = 'ceo@alphawidgets.example'"))

	// 4. A large object in alpha's database readable by PUBLIC (any role that gets in:
	// alpha's app role here, which owns nothing of it).
	oid := query(t, a.Conn(t, alpha.Database), "SELECT lo_from_bytea(0, convert_to('alpha payroll', 'UTF8'))::text")[0]
	a.Exec(t, alpha.Database, "GRANT SELECT ON LARGE OBJECT "+oid+" TO PUBLIC")
	require.Equal(t, "alpha payroll", f.appQuery(t, "alpha", "SELECT convert_from(lo_get("+oid+"), 'UTF8')"))

	// 5. A tablespace named after alpha: every login on the server reads its name.
	dir := filepath.Join(a.Cluster.Dir, "audit_test_ts")
	require.NoError(t, os.MkdirAll(dir, 0o700))
	st, err := os.Stat(a.Cluster.DataDir())
	require.NoError(t, err)
	require.NoError(t, os.Chown(dir, int(st.Sys().(*syscall.Stat_t).Uid), int(st.Sys().(*syscall.Stat_t).Gid)))
	a.Exec(t, "postgres", "CREATE TABLESPACE alphawidgets_archive LOCATION '"+dir+"'", "GRANT CREATE ON TABLESPACE alphawidgets_archive TO PUBLIC")
	t.Cleanup(func() { a.Exec(t, "postgres", "DROP TABLESPACE IF EXISTS alphawidgets_archive") })
	require.Equal(t, "alphawidgets_archive", f.appQuery(t, "beta", "SELECT spcname::text FROM pg_tablespace WHERE spcname LIKE 'alpha%'"))

	r := f.audit(noProbes)
	// Both ends of each bridge.
	requireViolation(t, r, audit.CheckDBExtensions, "alpha", "foreign server audit_test_fdw", "points at the database of tenant beta")
	v := requireViolation(t, r, audit.CheckDBBridgeTarget, "beta", "foreign server audit_test_fdw", "tenant alpha", "user mappings for public")
	require.Equal(t, audit.Critical, v.Severity)
	requireViolation(t, r, audit.CheckDBExtensions, "gamma", "view public.audit_test_peek", "the database of tenant alpha")
	requireViolation(t, r, audit.CheckDBBridgeTarget, "alpha", "view public.audit_test_peek", "tenant gamma", "server pg-b")
	requireViolation(t, r, audit.CheckDBObjects, "beta", "subscription audit_test_sub")
	requireViolation(t, r, audit.CheckDBBridgeTarget, "alpha", "subscription audit_test_sub", beta.Database, "slot audit_test_sub")
	// Slots, large objects, tablespaces.
	requireViolation(t, r, audit.CheckDBReplicationSlot, "alpha", "audit_test_sub", alpha.Database)
	v = requireViolation(t, r, audit.CheckDBLargeObjects, "alpha", "large object "+oid, "PUBLIC SELECT")
	require.Equal(t, audit.Critical, v.Severity)
	requireViolation(t, r, audit.CheckNamesOpaque, "alpha", `tablespace name "alphawidgets_archive"`)
	requireViolation(t, r, audit.CheckServerTablespaces, "", "PUBLIC holds CREATE on tablespace alphawidgets_archive")

	// Clean up; the fleet passes again.
	dropSub()
	a.Exec(t, beta.Database, "DELETE FROM users WHERE email = 'ceo@alphawidgets.example'")
	a.Exec(t, alpha.Database, "DROP EXTENSION postgres_fdw CASCADE", "SELECT lo_unlink("+oid+")")
	b.Exec(t, gamma.Database, "DROP EXTENSION dblink CASCADE")
	a.Exec(t, "postgres", "DROP TABLESPACE alphawidgets_archive")
	requireClean(t, f.audit(noProbes))
}
