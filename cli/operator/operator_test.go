package operator

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tenantctl/tenantctl/cli/cmdtest"
	"github.com/tenantctl/tenantctl/internal/validate"
)

func TestOperatorFlagsBecomeOptions(t *testing.T) {
	t.Parallel()
	var got *Options
	require.NoError(t, cmdtest.Execute(t, NewCmdAdd(cmdtest.Factory(), cmdtest.Capture(&got)), "alice", "--role", "operator"))
	require.Equal(t, Options{Factory: got.Factory, Login: "alice", Role: "operator"}, *got)
	for _, args := range [][]string{{"alice"}, {"alice", "--role", "root"}, {}} {
		require.ErrorIs(t, cmdtest.Execute(t, NewCmdAdd(cmdtest.Factory(), cmdtest.Refuse[Options](t)), args...), validate.ErrInvalid, "%v", args)
	}
	require.NoError(t, cmdtest.Execute(t, NewCmdList(cmdtest.Factory(), cmdtest.Capture(&got))))
	require.Equal(t, Options{Factory: got.Factory}, *got)
	require.ErrorIs(t, cmdtest.Execute(t, NewCmdList(cmdtest.Factory(), cmdtest.Refuse[Options](t)), "x"), validate.ErrInvalid)
	require.NoError(t, cmdtest.Execute(t, NewCmdRevoke(cmdtest.Factory(), cmdtest.Capture(&got)), "alice"))
	require.Equal(t, Options{Factory: got.Factory, Login: "alice"}, *got)
	require.ErrorIs(t, cmdtest.Execute(t, NewCmdRevoke(cmdtest.Factory(), cmdtest.Refuse[Options](t))), validate.ErrInvalid)
}

func TestNewCmdOperatorGroup(t *testing.T) {
	t.Parallel()
	require.Equal(t, []string{"add", "list", "revoke"}, cmdtest.Names(NewCmdOperator(cmdtest.Factory())))
}
