package audit_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tenantctl/tenantctl/audit"
	"github.com/tenantctl/tenantctl/tenantdb"
)

// neighbourFile puts a row in the tenant's users table, writes it to disk and returns
// the path of the table's file relative to the data directory (base/<db oid>/<relfilenode>):
// guessable, since clones of one template share relfilenodes.
func (f *fleet) neighbourFile(t *testing.T, slug, email string) string {
	t.Helper()
	tn := f.tenants[slug]
	srv := f.server(slug)
	srv.Exec(t, tn.Database, "INSERT INTO users (email, full_name) VALUES ('"+email+"', 'Neighbour')")
	srv.Exec(t, "postgres", "CHECKPOINT")
	path := query(t, srv.Conn(t, tn.Database), "SELECT pg_relation_filepath('public.users')")
	require.Len(t, path, 1)
	return path[0]
}

// readAs logs in to the tenant's own database with its app credentials and runs sql,
// which returns bytes; it returns them as text.
func (f *fleet) readAs(t *testing.T, slug, sql string, args ...any) string {
	t.Helper()
	ctx := context.Background()
	tn := f.tenants[slug]
	conn, err := f.login(t, slug, tenantdb.AppRole(tn.ID), f.appPassword(t, slug), tn.Database)
	require.NoError(t, err)
	defer conn.Close(ctx)
	var b []byte
	require.NoError(t, conn.QueryRow(ctx, sql, args...).Scan(&b))
	return string(b)
}

// TestSystemSchemaDoors opens, as the servers' superuser, three doors inside tenant
// databases that lead to a neighbour's rows: EXECUTE granted on a file-reading system
// function, a SECURITY DEFINER file reader planted in pg_catalog, and a file reader
// declared by hand in LANGUAGE internal. Each is proven by reading the neighbour's row
// from its table file with the tenant's own app credentials; the audit must report each
// in the database that holds it and name the neighbour exposed.
func TestSystemSchemaDoors(t *testing.T) {
	t.Parallel()
	f := setup(t)
	alpha, beta := f.tenants["alpha"], f.tenants["beta"]
	a := f.servers[0]
	alphaApp, betaApp := tenantdb.AppRole(alpha.ID), tenantdb.AppRole(beta.ID)
	betaFile := f.neighbourFile(t, "beta", "ceo@betalogistics.example")
	alphaFile := f.neighbourFile(t, "alpha", "ceo@alphawidgets.example")

	// 1. EXECUTE on pg_read_binary_file granted to alpha's app role in alpha's database.
	a.Exec(t, alpha.Database, "GRANT EXECUTE ON FUNCTION pg_catalog.pg_read_binary_file(text) TO "+alphaApp)
	require.Contains(t, f.readAs(t, "alpha", "SELECT pg_catalog.pg_read_binary_file($1)", betaFile), "ceo@betalogistics.example")

	// 2. A SECURITY DEFINER reader planted in pg_catalog of beta's database.
	a.Exec(t, beta.Database, "CREATE FUNCTION pg_catalog.audit_test_peek(text) RETURNS bytea LANGUAGE sql SECURITY DEFINER AS 'SELECT pg_catalog.pg_read_binary_file($1)'")
	require.Contains(t, f.readAs(t, "beta", "SELECT pg_catalog.audit_test_peek($1)", alphaFile), "ceo@alphawidgets.example")

	// 3. A file reader declared by hand in LANGUAGE internal, in beta's database.
	a.Exec(t, beta.Database, "CREATE FUNCTION public.audit_test_reader(text, bigint, bigint, boolean) RETURNS bytea LANGUAGE internal STRICT AS 'pg_read_binary_file_off_len'",
		"GRANT EXECUTE ON FUNCTION public.audit_test_reader(text, bigint, bigint, boolean) TO "+betaApp)
	require.Contains(t, f.readAs(t, "beta", "SELECT public.audit_test_reader($1, 0, 1000000, false)", alphaFile), "ceo@alphawidgets.example")

	r := f.audit(noProbes)
	v := requireViolation(t, r, audit.CheckDBSystemACL, "alpha", "pg_catalog.pg_read_binary_file(text)", alphaApp, "every tenant on server pg-a")
	require.Equal(t, audit.Critical, v.Severity)
	requireViolation(t, r, audit.CheckDBSystemObjects, "beta", "pg_catalog.audit_test_peek(text)", "SECURITY DEFINER", "where initdb did not put it")
	requireViolation(t, r, audit.CheckDBNativeFunctions, "beta", "public.audit_test_reader(text, bigint, bigint, boolean)", "LANGUAGE internal", "pg_read_binary_file_off_len")
	// The exposed neighbours are named.
	requireViolation(t, r, audit.CheckDBSystemObjects, "beta", "exposed", "tenant alpha (", "pg_read_binary_file")
	requireViolation(t, r, audit.CheckDBSystemObjects, "alpha", "exposed", "tenant beta (", "audit_test_peek", "audit_test_reader")
	for _, v := range r.Violations {
		require.NotEqual(t, "gamma", v.Tenant, "gamma is on another server: %s", v.Detail)
	}
	requireOnly(t, r, audit.CheckDBSystemACL, audit.CheckDBSystemObjects, audit.CheckDBNativeFunctions,
		audit.CheckDBObjectOwner, audit.CheckDBPrivileges, audit.CheckServerTenantObjects)

	a.Exec(t, alpha.Database, "REVOKE EXECUTE ON FUNCTION pg_catalog.pg_read_binary_file(text) FROM "+alphaApp)
	a.Exec(t, beta.Database, "DROP FUNCTION pg_catalog.audit_test_peek(text)", "DROP FUNCTION public.audit_test_reader(text, bigint, bigint, boolean)")
	requireClean(t, f.audit())
}

// TestSystemColumnGrant grants alpha's app role, as the servers' superuser, a column of
// a system catalog that PUBLIC may not read (pg_subscription.subconninfo: the connection
// strings, passwords included, of the database's subscriptions). The path is proven by
// the app role reading the column, refused before the grant; the audit must report the
// column's access list in alpha's database (the system-schema statement reads only the
// system columns that have an access list or an initdb record), then pass once revoked.
func TestSystemColumnGrant(t *testing.T) {
	t.Parallel()
	f := setup(t)
	ctx := context.Background()
	alpha := f.tenants["alpha"]
	a := f.servers[0]
	alphaApp := tenantdb.AppRole(alpha.ID)
	read := func() error {
		conn, err := f.login(t, "alpha", alphaApp, f.appPassword(t, "alpha"), alpha.Database)
		require.NoError(t, err)
		defer conn.Close(ctx)
		var n int
		return conn.QueryRow(ctx, "SELECT count(subconninfo) FROM pg_catalog.pg_subscription").Scan(&n)
	}
	require.ErrorContains(t, read(), "permission denied", "PUBLIC must not read subconninfo before the grant")

	a.Exec(t, alpha.Database, "GRANT SELECT (subconninfo) ON pg_catalog.pg_subscription TO "+alphaApp)
	require.NoError(t, read(), "the grant lets alpha's app role read the subscriptions' connection strings")

	r := f.audit(noProbes)
	v := requireViolation(t, r, audit.CheckDBSystemACL, "alpha", "column subconninfo", "pg_subscription", alphaApp)
	require.Equal(t, audit.Critical, v.Severity)
	requireOnly(t, r, audit.CheckDBSystemACL)

	a.Exec(t, alpha.Database, "REVOKE SELECT (subconninfo) ON pg_catalog.pg_subscription FROM "+alphaApp)
	require.ErrorContains(t, read(), "permission denied")
	requireClean(t, f.audit(noProbes))
}

// TestSystemFunctionMovedOut moves, as the servers' superuser, the file reader
// pg_read_binary_file(text) out of pg_catalog into alpha's schema public and grants it to
// alpha's app role (the app may run the functions of its schema, so the access list alone
// looks like tenantctl's). The path is proven by alpha reading beta's row from its table
// file; the audit must report the function as initdb's object outside the system schemas
// (the customer-object reads start at OID 16384, FirstNormalObjectId) and name beta
// exposed, then pass once it is back where initdb put it.
func TestSystemFunctionMovedOut(t *testing.T) {
	t.Parallel()
	f := setup(t)
	alpha := f.tenants["alpha"]
	a := f.servers[0]
	alphaApp := tenantdb.AppRole(alpha.ID)
	betaFile := f.neighbourFile(t, "beta", "cfo@betalogistics.example")

	a.Exec(t, alpha.Database, "ALTER FUNCTION pg_catalog.pg_read_binary_file(text) SET SCHEMA public",
		"GRANT EXECUTE ON FUNCTION public.pg_read_binary_file(text) TO "+alphaApp)
	require.Contains(t, f.readAs(t, "alpha", "SELECT public.pg_read_binary_file($1)", betaFile), "cfo@betalogistics.example")

	r := f.audit(noProbes)
	v := requireViolation(t, r, audit.CheckDBSystemACL, "alpha", "public.pg_read_binary_file(text)", "in schema public", "every tenant on server pg-a")
	require.Equal(t, audit.Critical, v.Severity)
	requireViolation(t, r, audit.CheckDBSystemObjects, "beta", "exposed", "tenant alpha (", "pg_read_binary_file")
	requireOnly(t, r, audit.CheckDBSystemACL, audit.CheckDBSystemObjects, audit.CheckDBPrivileges)

	a.Exec(t, alpha.Database, "REVOKE EXECUTE ON FUNCTION public.pg_read_binary_file(text) FROM "+alphaApp,
		"ALTER FUNCTION public.pg_read_binary_file(text) SET SCHEMA pg_catalog")
	requireClean(t, f.audit(noProbes))
}
