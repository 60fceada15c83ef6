package audit_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tenantctl/tenantctl/audit"
	"github.com/tenantctl/tenantctl/catalog"
	"github.com/tenantctl/tenantctl/provisioner"
	"github.com/tenantctl/tenantctl/tenantdb"
)

// Tenant owners log in with tenantctl's own sealed password, confined like the app
// role. The audit probes their credentials against the neighbours' databases (an owner
// let into alpha's database is named for alpha), requires their confinement, and
// reports an owner LOGIN for which the catalog holds no password; reconcile repairs
// the last two and the fleet passes again.
func TestOwnerLoginsConfinedAndProbed(t *testing.T) {
	t.Parallel()
	f := setup(t)
	ctx := context.Background()
	alpha, beta := f.tenants["alpha"], f.tenants["beta"]
	betaOwner := tenantdb.OwnerRole(beta.ID)
	ownerPW := func(slug string) string {
		t.Helper()
		pw, err := f.store.Credential(ctx, f.tenants[slug].ID, catalog.OwnerCredential)
		require.NoError(t, err)
		return pw
	}
	requireClean(t, f.audit())

	// The path, made as superuser: beta's owner let into alpha's group and given
	// CONNECT on alpha's database. Its own credentials then open alpha's database.
	f.exec("alpha", "postgres",
		"GRANT "+tenantdb.GroupRole(alpha.ID)+" TO "+betaOwner,
		"GRANT CONNECT ON DATABASE "+alpha.Database+" TO "+betaOwner)
	conn, err := f.login(t, "beta", betaOwner, ownerPW("beta"), alpha.Database)
	require.NoError(t, err, "the sabotage opens alpha's database to beta's owner credentials")
	var db string
	require.NoError(t, conn.QueryRow(ctx, "SELECT current_database()").Scan(&db))
	require.Equal(t, alpha.Database, db)
	conn.Close(ctx)
	r := f.audit()
	requireViolation(t, r, audit.CheckProbeCross, "alpha", "owner role of tenant beta", betaOwner, alpha.Database)
	f.exec("alpha", "postgres",
		"REVOKE CONNECT ON DATABASE "+alpha.Database+" FROM "+betaOwner,
		"REVOKE "+tenantdb.GroupRole(alpha.ID)+" FROM "+betaOwner)
	requireClean(t, f.audit())

	// An owner taken out of tenantctl_logins is no longer confined by the pg_hba.conf
	// lines: reported, and put back by reconcile.
	f.exec("beta", "postgres", "REVOKE "+tenantdb.LoginsRole+" FROM "+betaOwner)
	r = f.audit(noProbes)
	requireViolation(t, r, audit.CheckRoleConfinement, "beta", betaOwner, tenantdb.LoginsRole)
	_, err = f.prov.Reconcile(ctx, provisioner.ReconcileOptions{})
	require.NoError(t, err)
	requireClean(t, f.audit())

	// An owner that logs in although tenantctl holds no password for it: someone else
	// gave it one. Reported; reconcile gives the owner a password of tenantctl's own,
	// and the other one stops working.
	old := ownerPW("beta")
	_, err = f.store.Pool().Exec(ctx, `DELETE FROM credentials WHERE tenant_id = $1 AND role = $2`, beta.ID, catalog.OwnerCredential)
	require.NoError(t, err)
	r = f.audit(noProbes)
	requireViolation(t, r, audit.CheckRoleAttributes, "beta", betaOwner, "LOGIN", "holds no password")
	requireOnly(t, r, audit.CheckRoleAttributes)
	done, err := f.prov.Reconcile(ctx, provisioner.ReconcileOptions{})
	require.NoError(t, err)
	converted := false
	for _, a := range done {
		converted = converted || (a.Kind == provisioner.ActOwnerLogin && a.Tenant == "beta" && a.Applied)
	}
	require.True(t, converted, "reconcile gave beta's owner its own password: %+v", done)
	require.NotEqual(t, old, ownerPW("beta"))
	_, err = f.login(t, "beta", betaOwner, old, beta.Database)
	require.Error(t, err, "the password tenantctl did not hold is gone")
	requireClean(t, f.audit())
}
