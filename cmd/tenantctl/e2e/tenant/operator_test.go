package tenant_test

import (
	"context"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tenantctl/tenantctl/catalog"
	"github.com/tenantctl/tenantctl/cmd/tenantctl/e2e"
)

func TestOperatorAddListRevoke(t *testing.T) {
	t.Parallel()
	c := e2e.NewCLI(t)
	added := e2e.Decode[map[string]string](t, c.MustRun("operator", "add", "alice", "--role", "operator", "-o", "json"))
	token := added["token"]
	require.True(t, strings.HasPrefix(token, "tctl_"), token)
	c.Secrets = append(c.Secrets, token)

	// The token works, is stored only as a hash, and is never printed again.
	store, err := catalog.Open(context.Background(), c.Env["TENANTCTL_CATALOG_DSN"], nil)
	require.NoError(t, err)
	defer store.Close()
	op, err := store.Authenticate(context.Background(), token)
	require.NoError(t, err)
	require.Equal(t, "operator", op.Role)
	var plain int
	require.NoError(t, store.Pool().QueryRow(context.Background(),
		`SELECT count(*) FROM operators WHERE position(convert_to($1, 'UTF8') in token_sha256) > 0 OR encode(token_sha256, 'escape') LIKE '%' || $1 || '%'`, token).Scan(&plain))
	require.Zero(t, plain)

	list := c.MustRun("operator", "list")
	require.Contains(t, list, "alice")
	require.Contains(t, list, "operator")
	ops := e2e.Decode[[]map[string]any](t, c.MustRun("operator", "list", "-o", "json"))
	require.Len(t, ops, 1)
	require.NotContains(t, ops[0], "token")

	c.Expect(2, []string{"invalid role"}, "operator", "add", "bob", "--role", "root")
	c.Expect(2, []string{"invalid login"}, "operator", "add", "Bob!", "--role", "viewer")
	c.Expect(2, []string{"already exists"}, "operator", "add", "alice", "--role", "admin")
	c.MustRun("operator", "revoke", "alice")
	_, err = store.Authenticate(context.Background(), token)
	require.ErrorIs(t, err, catalog.ErrBadToken)
	c.Expect(2, []string{"operator not found"}, "operator", "revoke", "alice")

	// A revoked login may be added again, with a new token.
	again := e2e.Decode[map[string]string](t, c.MustRun("operator", "add", "alice", "--role", "viewer", "-o", "json"))
	require.NotEqual(t, token, again["token"])
	c.Secrets = append(c.Secrets, again["token"])

	events := e2e.Decode[[]map[string]any](t, c.MustRun("events", "-o", "json"))
	require.Equal(t, "operator.add", events[0]["action"])
	require.Equal(t, "operator.revoke", events[1]["action"])
}
