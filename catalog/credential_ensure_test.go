package catalog_test

import (
	"context"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/tenantctl/tenantctl/catalog"
)

// EnsureCredential stores a credential only when none is stored, and always returns
// the stored one: a create killed after storing it and rerun keeps the first password.
func TestEnsureCredentialKeepsTheStoredOne(t *testing.T) {
	b := setup(t)
	ctx := context.Background()
	s := b.store
	require.NoError(t, s.AddServer(ctx, catalog.Server{Name: "pg-a", Host: "10.0.0.1", Port: 5432, AdminRole: "admin",
		VersionNum: 150000, Capacity: 10}, "postgres://admin:pw-0123456789@10.0.0.1:5432/postgres"))
	require.NoError(t, s.InsertTenant(ctx, catalog.Tenant{ID: "ensurecred", Slug: "ensure-cred", Name: "E",
		Domain: "ensure.example", Server: "pg-a"}))

	got, inserted, err := s.EnsureCredential(ctx, "ensurecred", "app", "first-password-0123")
	require.NoError(t, err)
	require.True(t, inserted)
	require.Equal(t, "first-password-0123", got)

	got, inserted, err = s.EnsureCredential(ctx, "ensurecred", "app", "second-password-0123")
	require.NoError(t, err)
	require.False(t, inserted, "one was stored already")
	require.Equal(t, "first-password-0123", got, "the stored one wins")
	stored, err := s.Credential(ctx, "ensurecred", "app")
	require.NoError(t, err)
	require.Equal(t, "first-password-0123", stored)
}

// Credentials reads one role's credentials of many tenants at once; a tenant without one
// is missing from the map, and so is one whose sealed value does not open.
func TestCredentialsOfManyTenantsAtOnce(t *testing.T) {
	b := setup(t)
	ctx := context.Background()
	s := b.store
	require.NoError(t, s.AddServer(ctx, catalog.Server{Name: "pg-a", Host: "10.0.0.1", Port: 5432, AdminRole: "admin",
		VersionNum: 150000, Capacity: 10}, "postgres://admin:pw-0123456789@10.0.0.1:5432/postgres"))
	for _, id := range []string{"manycredaa", "manycredbb", "manycredcc", "manycreddd"} {
		require.NoError(t, s.InsertTenant(ctx, catalog.Tenant{ID: id, Slug: id, Name: "M", Domain: id + ".example", Server: "pg-a"}))
	}
	require.NoError(t, s.SetCredential(ctx, "manycredaa", catalog.OwnerCredential, "owner-a-0123456789"))
	require.NoError(t, s.SetCredential(ctx, "manycredbb", catalog.OwnerCredential, "owner-b-0123456789"))
	require.NoError(t, s.SetCredential(ctx, "manycredbb", "app", "app-b-0123456789"))
	require.NoError(t, s.SetCredential(ctx, "manycreddd", catalog.OwnerCredential, "owner-d-0123456789"))
	// d's sealed value moved to c's row: sealed for another tenant, it does not open there.
	conn, err := pgx.Connect(ctx, b.dsn)
	require.NoError(t, err)
	defer conn.Close(ctx)
	_, err = conn.Exec(ctx, `INSERT INTO credentials (tenant_id, role, secret_sealed)
		SELECT 'manycredcc', role, secret_sealed FROM credentials WHERE tenant_id = 'manycreddd' AND role = $1`, catalog.OwnerCredential)
	require.NoError(t, err)

	got, err := s.Credentials(ctx, catalog.OwnerCredential, []string{"manycredaa", "manycredbb", "manycredcc", "nosuchonex"})
	require.NoError(t, err)
	require.Equal(t, map[string]string{"manycredaa": "owner-a-0123456789", "manycredbb": "owner-b-0123456789"}, got)
	_, err = s.Credential(ctx, "manycredcc", catalog.OwnerCredential)
	require.Error(t, err, "the one-tenant read says why")
}
