package catalog_test

import (
	"context"
	"testing"

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
