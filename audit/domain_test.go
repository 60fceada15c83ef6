package audit_test

import (
	"context"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/tenantctl/tenantctl/audit"
	"github.com/tenantctl/tenantctl/provisioner"
	"github.com/tenantctl/tenantctl/tenantdb"
)

// TestDomainFunctionsReconciled takes a tenant database's domain away and makes another
// one's address check accept any address, as superuser and as the tenant's owner (the
// state of a database created before tenantctl wrote the domain, or tampered with by a
// migration): the app role sees the damage, the audit names both tenants, reconcile
// writes the customer's domain again, and the fleet is clean.
func TestDomainFunctionsReconciled(t *testing.T) {
	t.Parallel()
	f := setup(t)
	ctx := context.Background()
	alpha, gamma := f.tenants["alpha"], f.tenants["gamma"]
	// asApp runs a query through the tenant's own credentials.
	asApp := func(slug, sql string, args ...any) (string, error) {
		dsn, err := f.prov.AppDSN(ctx, slug)
		require.NoError(t, err)
		conn, err := pgx.Connect(ctx, dsn)
		require.NoError(t, err)
		defer conn.Close(ctx)
		var out string
		err = conn.QueryRow(ctx, sql, args...).Scan(&out)
		return out, err
	}
	// Every new tenant database carries its domain; the app role reads and checks it.
	for slug, tn := range f.tenants {
		got, err := asApp(slug, "SELECT tenantctl_domain()")
		require.NoError(t, err, slug)
		require.Equal(t, tn.Domain, got)
		for email, want := range map[string]string{
			"ann@" + tn.Domain: "true", "Ann@" + tn.Domain: "true", "ann@" + tn.Domain + ".evil": "false",
			"ann@evil.example": "false", "ann@sub." + tn.Domain: "false", "a@b@" + tn.Domain: "false", "ann": "false",
		} {
			got, err := asApp(slug, "SELECT tenantctl_email_in_domain($1)::text", email)
			require.NoError(t, err)
			require.Equal(t, want, got, "%s in %s", email, slug)
		}
	}
	requireClean(t, f.audit(noProbes))

	f.exec("alpha", tenantdb.Database(alpha.ID), "DROP FUNCTION public.tenantctl_domain()")
	f.exec("gamma", tenantdb.Database(gamma.ID), "SET ROLE "+tenantdb.OwnerRole(gamma.ID)+
		"; CREATE OR REPLACE FUNCTION public.tenantctl_email_in_domain(email text) RETURNS boolean LANGUAGE sql IMMUTABLE AS 'SELECT true'; RESET ROLE")
	_, err := asApp("alpha", "SELECT tenantctl_domain()")
	require.ErrorContains(t, err, "does not exist", "the sabotage is real")
	got, err := asApp("gamma", "SELECT tenantctl_email_in_domain('ann@evil.example')::text")
	require.NoError(t, err)
	require.Equal(t, "true", got, "the sabotage is real")

	r := f.audit(noProbes)
	requireViolation(t, r, audit.CheckDBDomain, "alpha", "does not carry the customer's domain", "tenantctl_domain()")
	requireViolation(t, r, audit.CheckDBDomain, "gamma", "tenantctl_email_in_domain(email text) is not the one tenantctl writes", gamma.Domain)
	requireOnly(t, r, audit.CheckDBDomain)

	actions, err := f.prov.Reconcile(ctx, provisioner.ReconcileOptions{})
	require.NoError(t, err, "%+v", actions)
	got, err = asApp("alpha", "SELECT tenantctl_domain()")
	require.NoError(t, err)
	require.Equal(t, alpha.Domain, got)
	got, err = asApp("gamma", "SELECT tenantctl_email_in_domain('ann@evil.example')::text")
	require.NoError(t, err)
	require.Equal(t, "false", got)
	requireClean(t, f.audit(noProbes))

	// A second reconcile has nothing to do about it.
	actions, err = f.prov.Reconcile(ctx, provisioner.ReconcileOptions{})
	require.NoError(t, err)
	for _, a := range actions {
		require.NotContains(t, a.Detail, "tenantctl_", "%+v", a)
	}
}
