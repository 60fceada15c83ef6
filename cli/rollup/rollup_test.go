package rollup

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tenantctl/tenantctl/cli/cmdtest"
	"github.com/tenantctl/tenantctl/fleet"
	"github.com/tenantctl/tenantctl/internal/validate"
	rolluplib "github.com/tenantctl/tenantctl/rollup"
)

func TestRunFlagsBecomeOptions(t *testing.T) {
	t.Parallel()
	var got *RunOptions
	require.NoError(t, cmdtest.Execute(t, NewCmdRun(cmdtest.Factory(), cmdtest.Capture(&got))))
	require.Equal(t, rolluplib.Options{Options: fleet.Options{Concurrency: rolluplib.DefaultConcurrency, PerServer: rolluplib.DefaultPerServer}}, got.Rollup)

	got = nil
	require.NoError(t, cmdtest.Execute(t, NewCmdRun(cmdtest.Factory(), cmdtest.Capture(&got)), "--tenant", "acme", "--concurrency", "6", "--per-server", "1"))
	require.Equal(t, rolluplib.Options{Options: fleet.Options{Tenant: "acme", Concurrency: 6, PerServer: 1}}, got.Rollup)

	for _, args := range [][]string{{"--per-server", "0"}, {"--concurrency", "0"}, {"extra"}} {
		require.ErrorIs(t, cmdtest.Execute(t, NewCmdRun(cmdtest.Factory(), cmdtest.Refuse[RunOptions](t)), args...), validate.ErrInvalid, "%v", args)
	}
}

func TestStatusFlagsBecomeOptions(t *testing.T) {
	t.Parallel()
	var got *StatusOptions
	require.NoError(t, cmdtest.Execute(t, NewCmdStatus(cmdtest.Factory(), cmdtest.Capture(&got))))
	require.Empty(t, got.Tenant)
	require.NoError(t, cmdtest.Execute(t, NewCmdStatus(cmdtest.Factory(), cmdtest.Capture(&got)), "--tenant", "acme"))
	require.Equal(t, "acme", got.Tenant)
	require.ErrorIs(t, cmdtest.Execute(t, NewCmdStatus(cmdtest.Factory(), cmdtest.Refuse[StatusOptions](t)), "x"), validate.ErrInvalid)
}

func TestNewCmdRollupGroup(t *testing.T) {
	t.Parallel()
	require.Equal(t, []string{"run", "status"}, cmdtest.Names(NewCmdRollup(cmdtest.Factory())))
}
