package audit_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tenantctl/tenantctl/audit"
	"github.com/tenantctl/tenantctl/provisioner"
	"github.com/tenantctl/tenantctl/tenantdb"
)

// The admin holds no standing membership in any tenant's role: it takes one for a
// transaction when it needs the role's rights. One it holds (an older tenantctl's
// layout, or someone's grant) lets every admin session act as that tenant's owner at
// any time, outside tenantctl's transactions: shown first (an admin session takes the
// owner's role and reads goose's version table, which neither the app nor the admin
// may read), then reported for that tenant only, then revoked by reconcile.
func TestAdminStandingMembershipReported(t *testing.T) {
	f := setup(t)
	ctx := context.Background()
	alpha := f.tenants["alpha"]
	owner := tenantdb.OwnerRole(alpha.ID)
	srv, err := f.prov.Server(ctx, alpha.Server)
	require.NoError(t, err)
	requireClean(t, f.audit(noProbes))

	// Without the membership the admin cannot take the owner's role.
	conn, err := srv.Connect(ctx, alpha.Database)
	require.NoError(t, err)
	_, err = conn.Exec(ctx, "SET ROLE "+owner)
	require.Error(t, err, "the admin holds no standing membership in alpha's owner")
	conn.Close(ctx)

	// The sabotage, as superuser: the admin made a standing member of alpha's owner.
	f.exec("alpha", "postgres", "GRANT "+owner+" TO "+srv.AdminRole())
	conn, err = srv.Connect(ctx, alpha.Database)
	require.NoError(t, err)
	_, err = conn.Exec(ctx, "SET ROLE "+owner)
	require.NoError(t, err, "any admin session may now act as alpha's owner")
	var versions int
	require.NoError(t, conn.QueryRow(ctx, "SELECT count(*) FROM goose_db_version").Scan(&versions))
	require.Positive(t, versions, "and reads what only the owner may read")
	conn.Close(ctx)

	r := f.audit(noProbes)
	requireViolation(t, r, audit.CheckRoleAdmin, "alpha", srv.AdminRole(), owner, "standing membership")
	requireOnly(t, r, audit.CheckRoleAdmin)
	for _, v := range r.Violations {
		require.Equal(t, "alpha", v.Tenant, "only the tenant whose role it is: %s", v.Detail)
	}

	done, err := f.prov.Reconcile(ctx, provisioner.ReconcileOptions{})
	require.NoError(t, err)
	revoked := false
	for _, a := range done {
		revoked = revoked || (a.Kind == provisioner.ActAdminMembership && a.Tenant == "alpha" && a.Applied)
	}
	require.True(t, revoked, "reconcile revoked it: %+v", done)
	requireClean(t, f.audit())
}
