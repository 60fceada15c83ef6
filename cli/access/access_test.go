package access

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tenantctl/tenantctl/cli/cmdtest"
	"github.com/tenantctl/tenantctl/internal/validate"
	"github.com/tenantctl/tenantctl/provisioner"
)

func TestGrantFlagsBecomeOptions(t *testing.T) {
	t.Parallel()
	var got *GrantOptions
	require.NoError(t, cmdtest.Execute(t, NewCmdGrant(cmdtest.Factory(), cmdtest.Capture(&got)), "alice", "--tenant", "acme"))
	require.Equal(t, provisioner.GrantOptions{Login: "alice", Slug: "acme", Level: "read"}, got.Grant)
	require.NoError(t, cmdtest.Execute(t, NewCmdGrant(cmdtest.Factory(), cmdtest.Capture(&got)), "bob", "--tenant", "acme", "--level", "write",
		"--expires", "8h", "--reason", "INC-1"))
	require.Equal(t, provisioner.GrantOptions{Login: "bob", Slug: "acme", Level: "write", Expires: "8h", Reason: "INC-1"}, got.Grant)
	// The library's own checks run before the seam: bad input never reaches the run.
	for _, args := range [][]string{{"alice"}, {"alice", "--tenant", "acme", "--level", "admin"}, {"alice", "--tenant", "acme", "--expires", "soon"}, {}} {
		require.ErrorIs(t, cmdtest.Execute(t, NewCmdGrant(cmdtest.Factory(), cmdtest.Refuse[GrantOptions](t)), args...), validate.ErrInvalid, "%v", args)
	}
}

func TestRevokeAndDSNFlagsBecomeOptions(t *testing.T) {
	t.Parallel()
	var got *LoginOptions
	require.NoError(t, cmdtest.Execute(t, NewCmdRevoke(cmdtest.Factory(), cmdtest.Capture(&got)), "alice", "--tenant", "acme"))
	require.Equal(t, LoginOptions{Factory: got.Factory, Login: "alice", Tenant: "acme"}, *got)
	require.NoError(t, cmdtest.Execute(t, NewCmdDSN(cmdtest.Factory(), cmdtest.Capture(&got)), "bob", "--tenant", "globex"))
	require.Equal(t, LoginOptions{Factory: got.Factory, Login: "bob", Tenant: "globex"}, *got)
	require.ErrorIs(t, cmdtest.Execute(t, NewCmdRevoke(cmdtest.Factory(), cmdtest.Refuse[LoginOptions](t))), validate.ErrInvalid)
	require.ErrorIs(t, cmdtest.Execute(t, NewCmdDSN(cmdtest.Factory(), cmdtest.Refuse[LoginOptions](t)), "a", "b"), validate.ErrInvalid)
}

func TestListFlagsBecomeOptions(t *testing.T) {
	t.Parallel()
	var got *ListOptions
	require.NoError(t, cmdtest.Execute(t, NewCmdList(cmdtest.Factory(), cmdtest.Capture(&got)), "--tenant", "acme", "--login", "alice"))
	require.Equal(t, ListOptions{Factory: got.Factory, Tenant: "acme", Login: "alice"}, *got)
	require.ErrorIs(t, cmdtest.Execute(t, NewCmdList(cmdtest.Factory(), cmdtest.Refuse[ListOptions](t)), "x"), validate.ErrInvalid)
}

func TestNewCmdAccessGroup(t *testing.T) {
	t.Parallel()
	require.Equal(t, []string{"dsn", "grant", "list", "revoke"}, cmdtest.Names(NewCmdAccess(cmdtest.Factory())))
}
