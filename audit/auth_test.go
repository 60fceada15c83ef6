package audit_test

import (
	"context"
	"net/url"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/tenantctl/tenantctl/audit"
	"github.com/tenantctl/tenantctl/internal/pgtest"
	"github.com/tenantctl/tenantctl/tenantdb"
)

// These tests attack authentication itself, as a hostile DBA with the superuser would:
// pg_hba.conf rules that skip the password or go around tenantctl's lines, databases
// the lines leave open, tenantctl's shared roles. Each proves the path is real, then
// that the audit names every exposed tenant, then that the clean fleet passes again.
// The package's tests run one at a time, so editing the shared servers' pg_hba.conf
// (restored at cleanup) disturbs no other test.

// setHBA places lines first in pg-a's pg_hba.conf and reloads; the lines of
// `tenantctl server hba` are put back at cleanup.
func setHBA(t *testing.T, f *fleet, lines string) {
	t.Helper()
	s := f.servers[0]
	s.SetHBA(t, lines)
	t.Cleanup(func() { s.SetHBA(t, tenantdb.HBALines(pgtest.AdminRole, "")) })
}

// superUser is the superuser name and password of a test server.
func superUser(t *testing.T, s *pgtest.Server) (string, string) {
	t.Helper()
	u, err := url.Parse(s.SuperDSN("postgres"))
	require.NoError(t, err)
	pw, _ := u.User.Password()
	return u.User.Username(), pw
}

// tenantsNamed asserts that check reports every one of slugs (and no tenant of pg-b).
func tenantsNamed(t *testing.T, r audit.Report, check string, slugs []string, want ...string) {
	t.Helper()
	for _, slug := range slugs {
		requireViolation(t, r, check, slug, want...)
	}
	for _, v := range r.Violations {
		require.NotEqual(t, "gamma", v.Tenant, "pg-b is untouched:\n%s", dump(r))
	}
}

func evaluated(r audit.Report, check string) int {
	for _, s := range r.Summary {
		if s.Check == check {
			return s.Evaluated
		}
	}
	return 0
}

// TestWrongPasswordAndTrustRules puts trust lines in pg-a's pg_hba.conf, before and
// after tenantctl's, proves a wrong password logs in, and checks that the rules and
// the wrong-password probes name every tenant of pg-a; then takes away the admin's
// right to read the rules: unverified, never passed.
func TestWrongPasswordAndTrustRules(t *testing.T) {
	t.Parallel()
	f := setup(t)
	ctx := context.Background()
	alpha, beta := f.tenants["alpha"], f.tenants["beta"]
	r := f.audit()
	requireClean(t, r)
	require.Positive(t, evaluated(r, audit.CheckServerHBA))
	require.Positive(t, evaluated(r, audit.CheckProbeWrongPassword))
	require.Positive(t, evaluated(r, audit.CheckRoleShared))
	lines := tenantdb.HBALines(pgtest.AdminRole, "")
	pgA := []string{"alpha", "beta"}

	// 1. trust for every tenant login, above tenantctl's lines.
	setHBA(t, f, "host all +"+tenantdb.LoginsRole+" all trust\n"+lines)
	conn, err := f.login(t, "beta", tenantdb.AppRole(beta.ID), "not-the-password", beta.Database)
	require.NoError(t, err, "a wrong password logs in")
	var who string
	require.NoError(t, conn.QueryRow(ctx, "SELECT current_user").Scan(&who))
	require.Equal(t, tenantdb.AppRole(beta.ID), who)
	conn.Close(ctx)
	r = f.audit()
	tenantsNamed(t, r, audit.CheckServerHBA, pgA, "comes before tenantctl's lines", "+"+tenantdb.LoginsRole, "without any password")
	v := requireViolation(t, r, audit.CheckProbeWrongPassword, "beta", "a wrong password logged in as "+tenantdb.AppRole(alpha.ID))
	require.Equal(t, audit.Critical, v.Severity)
	requireViolation(t, r, audit.CheckProbeWrongPassword, "alpha", "a wrong password logged in")
	// The door is also open to every other database: the shared-database probes say so.
	requireOnly(t, r, audit.CheckServerHBA, audit.CheckProbeWrongPassword, audit.CheckProbeSharedDatabases, audit.CheckProbeOtherDatabase)

	// 2. trust for everyone after tenantctl's lines: the superuser's name is enough.
	setHBA(t, f, lines+"host all all all trust\n")
	su, _ := superUser(t, f.servers[0])
	cfg, err := pgx.ParseConfig(f.servers[0].SuperDSN(alpha.Database))
	require.NoError(t, err)
	cfg.Password = "not-the-password"
	conn, err = pgx.ConnectConfig(ctx, cfg)
	require.NoError(t, err, "the superuser logs in with a wrong password")
	f.exec("alpha", alpha.Database, "INSERT INTO users (email, full_name) VALUES ('cfo@alphawidgets.example', 'Alpha CFO')")
	var stolen string
	require.NoError(t, conn.QueryRow(ctx, "SELECT email FROM users WHERE full_name = 'Alpha CFO'").Scan(&stolen))
	require.Equal(t, "cfo@alphawidgets.example", stolen)
	conn.Close(ctx)
	r = f.audit()
	tenantsNamed(t, r, audit.CheckServerHBA, pgA, "host all all all trust", "superuser "+su, "without any password")
	tenantsNamed(t, r, audit.CheckProbeWrongPassword, pgA, "as "+su+" (a superuser)")
	requireOnly(t, r, audit.CheckServerHBA, audit.CheckProbeWrongPassword)
	setHBA(t, f, lines)

	// 3. The admin may not read the rules: unverified, and the verdict is not passed.
	f.servers[0].Exec(t, "postgres", "REVOKE SELECT ON pg_hba_file_rules FROM "+pgtest.AdminRole,
		"REVOKE EXECUTE ON FUNCTION pg_hba_file_rules() FROM "+pgtest.AdminRole)
	t.Cleanup(func() { f.servers[0].Exec(t, "postgres", tenantdb.HBAGrantSQL(pgtest.AdminRole)) })
	r = f.audit()
	for _, slug := range pgA {
		v := requireViolation(t, r, audit.CheckServerHBA, slug, "unverified", "GRANT SELECT ON pg_catalog.pg_hba_file_rules TO")
		require.True(t, v.Unverified)
	}
	requireOnly(t, r, audit.CheckServerHBA)
	require.False(t, r.Passed)
	f.servers[0].Exec(t, "postgres", tenantdb.HBAGrantSQL(pgtest.AdminRole))
	requireClean(t, f.audit())
}

// legacyLines are the lines `tenantctl server hba` printed before it closed the
// replication pseudo-database and the shared roles' databases.
func legacyLines(admin string) string {
	var keep []string
	for _, l := range strings.Split(tenantdb.HBALines(admin, ""), "\n") {
		if !strings.Contains(l, "replication,") {
			keep = append(keep, l)
		}
	}
	return strings.Join(keep, "\n")
}

// TestLinesWithoutDoors creates, as a superuser, a database named like tenantctl's
// login group holding a customer's row readable by PUBLIC: under the older lines every
// tenant login opens it (samerole) and reaches the replication pseudo-database; under
// the current ones neither. Then an ordinary database behind a rule for tenant logins:
// the other-database probe finds it, declared or not.
func TestLinesWithoutDoors(t *testing.T) {
	t.Parallel()
	f := setup(t)
	ctx := context.Background()
	beta := f.tenants["beta"]
	betaApp, betaPW := tenantdb.AppRole(beta.ID), f.appPassword(t, "beta")
	a := f.servers[0]
	pgA := []string{"alpha", "beta"}
	a.Exec(t, "postgres", "CREATE DATABASE "+tenantdb.LoginsRole)
	t.Cleanup(func() { a.Exec(t, "postgres", "DROP DATABASE IF EXISTS "+tenantdb.LoginsRole+" WITH (FORCE)") })
	a.Exec(t, tenantdb.LoginsRole, "CREATE TABLE leaked AS SELECT 'ceo@alphawidgets.example'::text AS email", "GRANT SELECT ON leaked TO PUBLIC")

	// Before: the older lines.
	setHBA(t, f, legacyLines(pgtest.AdminRole))
	conn, err := f.login(t, "beta", betaApp, betaPW, tenantdb.LoginsRole)
	require.NoError(t, err, "samerole opens a database named like the login group")
	var email string
	require.NoError(t, conn.QueryRow(ctx, "SELECT email FROM leaked").Scan(&email))
	require.Equal(t, "ceo@alphawidgets.example", email)
	conn.Close(ctx)
	// A replication connection passes authentication: only the missing REPLICATION
	// attribute stops it.
	_, err = f.replicationLogin(t, "beta", betaApp, betaPW)
	require.Error(t, err)
	require.NotContains(t, err.Error(), "pg_hba.conf")
	require.Contains(t, err.Error(), "replication")
	r := f.audit()
	tenantsNamed(t, r, audit.CheckServerHBA, pgA, "older tenantctl", tenantdb.LoginsRole)
	tenantsNamed(t, r, audit.CheckServerHBA, pgA, "replication pseudo-database")
	tenantsNamed(t, r, audit.CheckProbeOtherDatabase, pgA, "logged in to database "+tenantdb.LoginsRole)
	requireViolation(t, r, audit.CheckServerDatabases, "", "database "+tenantdb.LoginsRole)
	requireOnly(t, r, audit.CheckServerHBA, audit.CheckProbeOtherDatabase, audit.CheckServerDatabases)

	// After: the current lines reject both.
	setHBA(t, f, tenantdb.HBALines(pgtest.AdminRole, ""))
	_, err = f.login(t, "beta", betaApp, betaPW, tenantdb.LoginsRole)
	require.Error(t, err)
	require.Contains(t, err.Error(), "pg_hba.conf")
	_, err = f.replicationLogin(t, "beta", betaApp, betaPW)
	require.Error(t, err)
	require.Contains(t, err.Error(), "pg_hba.conf")
	r = f.audit()
	requireViolation(t, r, audit.CheckServerDatabases, "", "database "+tenantdb.LoginsRole)
	requireOnly(t, r, audit.CheckServerDatabases)
	a.Exec(t, "postgres", "DROP DATABASE "+tenantdb.LoginsRole+" WITH (FORCE)")

	// An ordinary database a superuser opened to tenant logins by a rule of its own.
	a.Exec(t, "postgres", "CREATE DATABASE audit_test_reports")
	t.Cleanup(func() { a.Exec(t, "postgres", "DROP DATABASE IF EXISTS audit_test_reports WITH (FORCE)") })
	a.Exec(t, "audit_test_reports", "CREATE TABLE leaked AS SELECT 'ceo@alphawidgets.example'::text AS email", "GRANT SELECT ON leaked TO PUBLIC")
	setHBA(t, f, "host audit_test_reports +"+tenantdb.LoginsRole+" all scram-sha-256\n"+tenantdb.HBALines(pgtest.AdminRole, ""))
	conn, err = f.login(t, "beta", betaApp, betaPW, "audit_test_reports")
	require.NoError(t, err)
	require.NoError(t, conn.QueryRow(ctx, "SELECT email FROM leaked").Scan(&email))
	conn.Close(ctx)
	r = f.audit()
	tenantsNamed(t, r, audit.CheckProbeOtherDatabase, pgA, "logged in to database audit_test_reports")
	tenantsNamed(t, r, audit.CheckServerHBA, pgA, "host audit_test_reports +"+tenantdb.LoginsRole, "comes before tenantctl's lines")
	requireViolation(t, r, audit.CheckServerDatabases, "", "database audit_test_reports", "--allow-database audit_test_reports")
	// Declared, it is still probed.
	require.NoError(t, f.store.AllowDatabases(ctx, "pg-a", []string{"audit_test_reports"}, true))
	r = f.audit()
	tenantsNamed(t, r, audit.CheckProbeOtherDatabase, pgA, "logged in to database audit_test_reports")
	requireOnly(t, r, audit.CheckServerHBA, audit.CheckProbeOtherDatabase)
	setHBA(t, f, tenantdb.HBALines(pgtest.AdminRole, ""))
	r = f.audit()
	requireClean(t, r)
	require.Positive(t, evaluated(r, audit.CheckProbeOtherDatabase), "a declared database is probed too")
	require.NoError(t, f.store.AllowDatabases(ctx, "pg-a", []string{"audit_test_reports"}, false))
	a.Exec(t, "postgres", "DROP DATABASE audit_test_reports WITH (FORCE)")
	requireClean(t, f.audit())
}

// replicationLogin opens a physical replication connection to the tenant's server.
func (f *fleet) replicationLogin(t *testing.T, slug, user, password string) (*pgx.Conn, error) {
	t.Helper()
	srv, err := f.prov.Server(context.Background(), f.tenants[slug].Server)
	require.NoError(t, err)
	cfg := srv.ConnConfig("postgres")
	cfg.User, cfg.Password = user, password
	cfg.RuntimeParams["replication"] = "true"
	cfg.DefaultQueryExecMode = pgx.QueryExecModeSimpleProtocol
	conn, err := pgx.ConnectConfig(context.Background(), cfg)
	if err == nil {
		conn.Close(context.Background())
	}
	return conn, err
}

// TestSharedRolesHeldToTenantRules gives tenantctl's login group CREATEROLE: alpha's
// application login sets its role to the group and mints a login inside beta's roles,
// which reads beta's rows. The audit names every tenant of the server.
func TestSharedRolesHeldToTenantRules(t *testing.T) {
	t.Parallel()
	f := setup(t)
	ctx := context.Background()
	alpha, beta := f.tenants["alpha"], f.tenants["beta"]
	a := f.servers[0]
	pgA := []string{"alpha", "beta"}
	a.Exec(t, "postgres", "ALTER ROLE "+tenantdb.LoginsRole+" CREATEROLE")
	t.Cleanup(func() {
		a.Exec(t, "postgres", "ALTER ROLE "+tenantdb.LoginsRole+" NOCREATEROLE", "DROP ROLE IF EXISTS audit_test_minted")
	})
	f.exec("beta", beta.Database, "INSERT INTO users (email, full_name) VALUES ('ceo@betalogistics.example', 'Beta CEO')")

	// The path: alpha's customer, with nothing but its application credentials.
	conn, err := f.login(t, "alpha", tenantdb.AppRole(alpha.ID), f.appPassword(t, "alpha"), alpha.Database)
	require.NoError(t, err)
	_, err = conn.Exec(ctx, "SET ROLE "+tenantdb.LoginsRole)
	require.NoError(t, err)
	_, err = conn.Exec(ctx, "CREATE ROLE audit_test_minted LOGIN PASSWORD 'minted-password' IN ROLE "+
		strings.Join([]string{tenantdb.GroupRole(beta.ID), tenantdb.LoginsRole, tenantdb.OwnerRole(beta.ID)}, ", "))
	require.NoError(t, err, "CREATEROLE on the login group lets a customer mint a login inside a neighbour's roles")
	conn.Close(ctx)
	conn, err = f.login(t, "beta", "audit_test_minted", "minted-password", beta.Database)
	require.NoError(t, err)
	var email string
	require.NoError(t, conn.QueryRow(ctx, "SELECT email FROM users WHERE full_name = 'Beta CEO'").Scan(&email))
	require.Equal(t, "ceo@betalogistics.example", email)
	conn.Close(ctx)

	r := f.audit(noProbes)
	for _, slug := range pgA {
		v := requireViolation(t, r, audit.CheckRoleShared, slug, tenantdb.LoginsRole, "CREATEROLE")
		require.Equal(t, audit.Critical, v.Severity)
	}
	a.Exec(t, "postgres", "DROP ROLE audit_test_minted", "ALTER ROLE "+tenantdb.LoginsRole+" NOCREATEROLE")
	requireClean(t, f.audit(noProbes))

	// A membership of the group is every login's.
	a.Exec(t, "postgres", "GRANT pg_read_all_data TO "+tenantdb.LoginsRole)
	t.Cleanup(func() { a.Exec(t, "postgres", "REVOKE pg_read_all_data FROM "+tenantdb.LoginsRole) })
	r = f.audit(noProbes)
	tenantsNamed(t, r, audit.CheckRoleShared, pgA, tenantdb.LoginsRole, "predefined role pg_read_all_data")
	requireOnly(t, r, audit.CheckRoleShared, audit.CheckRoleMembership)
	a.Exec(t, "postgres", "REVOKE pg_read_all_data FROM "+tenantdb.LoginsRole,
		"ALTER ROLE "+tenantdb.TemplateOwnerRole+" LOGIN")
	t.Cleanup(func() { a.Exec(t, "postgres", "ALTER ROLE "+tenantdb.TemplateOwnerRole+" NOLOGIN") })
	r = f.audit(noProbes)
	tenantsNamed(t, r, audit.CheckRoleShared, pgA, tenantdb.TemplateOwnerRole, "LOGIN")
	requireOnly(t, r, audit.CheckRoleShared)
	a.Exec(t, "postgres", "ALTER ROLE "+tenantdb.TemplateOwnerRole+" NOLOGIN")
	requireClean(t, f.audit())
}
