package migrate

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tenantctl/tenantctl/cli/cmdtest"
	"github.com/tenantctl/tenantctl/fleet"
	"github.com/tenantctl/tenantctl/internal/validate"
	"github.com/tenantctl/tenantctl/rollout"
)

func TestUpFlagsBecomeOptions(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name string
		args []string
		want func(o *rollout.Options)
	}{
		{"defaults", nil, func(o *rollout.Options) {
			o.Concurrency, o.PerServer = rollout.DefaultConcurrency, rollout.DefaultPerServer
			o.Canary, o.MaxFailures = rollout.DefaultCanary, rollout.DefaultMaxFailures
			o.LockTimeout, o.StatementTimeout, o.LockWait = rollout.DefaultLockTimeout, rollout.DefaultStatementTimeout, rollout.DefaultLockWait
		}},
		{"every flag", []string{"--tenant", "acme", "--concurrency", "8", "--per-server", "3", "--canary", "2", "--max-failures", "5",
			"--dry-run", "--verify", "--allow-changed", "--lock-timeout", "2s", "--statement-timeout", "1m", "--lock-wait", "30s"},
			func(o *rollout.Options) {
				o.Tenant, o.Concurrency, o.PerServer, o.Canary, o.MaxFailures = "acme", 8, 3, 2, 5
				o.DryRun, o.Verify, o.AllowChanged = true, true, true
				o.LockTimeout, o.StatementTimeout, o.LockWait = 2*time.Second, time.Minute, 30*time.Second
			}},
		{"zero canary and max-failures mean none and never", []string{"--canary", "0", "--max-failures", "0"}, func(o *rollout.Options) {
			o.Concurrency, o.PerServer = rollout.DefaultConcurrency, rollout.DefaultPerServer
			o.Canary, o.MaxFailures = 0, 0 // none and never, as ZeroIsNone reads them
			o.LockTimeout, o.StatementTimeout, o.LockWait = rollout.DefaultLockTimeout, rollout.DefaultStatementTimeout, rollout.DefaultLockWait
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			var got *UpOptions
			require.NoError(t, cmdtest.Execute(t, NewCmdUp(cmdtest.Factory(), cmdtest.Capture(&got)), c.args...))
			want := rollout.Options{ZeroIsNone: true}
			c.want(&want)
			got.Rollout.Log = nil // the library's Validate gives it a logger
			require.Equal(t, want, got.Rollout)
		})
	}
	for _, args := range [][]string{{"--concurrency", "0"}, {"--per-server", "0"}, {"--canary", "-1"}, {"--max-failures", "-2"}} {
		t.Run("refused "+args[0]+" "+args[1], func(t *testing.T) {
			t.Parallel()
			require.ErrorIs(t, cmdtest.Execute(t, NewCmdUp(cmdtest.Factory(), cmdtest.Refuse[UpOptions](t)), args...), validate.ErrInvalid)
		})
	}
}

func TestStatusFlagsBecomeOptions(t *testing.T) {
	t.Parallel()
	var got *StatusOptions
	require.NoError(t, cmdtest.Execute(t, NewCmdStatus(cmdtest.Factory(), cmdtest.Capture(&got))))
	require.Equal(t, rollout.StatusOptions{Options: fleet.Options{Concurrency: rollout.DefaultConcurrency, PerServer: rollout.DefaultPerServer}}, got.Status)
	require.NoError(t, cmdtest.Execute(t, NewCmdStatus(cmdtest.Factory(), cmdtest.Capture(&got)), "--tenant", "acme", "--verify", "--concurrency", "3", "--per-server", "1"))
	require.Equal(t, rollout.StatusOptions{Verify: true, Options: fleet.Options{Tenant: "acme", Concurrency: 3, PerServer: 1}}, got.Status)
	require.ErrorIs(t, cmdtest.Execute(t, NewCmdStatus(cmdtest.Factory(), cmdtest.Refuse[StatusOptions](t)), "x"), validate.ErrInvalid)
}

func TestDownFlagsBecomeOptions(t *testing.T) {
	t.Parallel()
	var got *DownOptions
	require.NoError(t, cmdtest.Execute(t, NewCmdDown(cmdtest.Factory(), cmdtest.Capture(&got)), "--tenant", "acme"))
	require.Equal(t, rollout.DownOptions{Tenant: "acme", LockTimeout: rollout.DefaultLockTimeout, StatementTimeout: rollout.DefaultStatementTimeout, LockWait: rollout.DefaultLockWait}, got.Down)
	require.False(t, got.DryRun || got.SetTo)

	require.NoError(t, cmdtest.Execute(t, NewCmdDown(cmdtest.Factory(), cmdtest.Capture(&got)), "--tenant", "acme", "--to", "0", "--dry-run",
		"--lock-timeout", "1s", "--statement-timeout", "2s", "--lock-wait", "3s", "--allow-changed"))
	zero := int64(0)
	require.Equal(t, rollout.DownOptions{Tenant: "acme", To: &zero, LockTimeout: time.Second, StatementTimeout: 2 * time.Second, LockWait: 3 * time.Second, AllowChanged: true}, got.Down)
	require.True(t, got.DryRun && got.SetTo)

	require.ErrorIs(t, cmdtest.Execute(t, NewCmdDown(cmdtest.Factory(), cmdtest.Refuse[DownOptions](t))), rollout.ErrFleetDown, "never the whole fleet")
}

func TestBaselineFlagsBecomeOptions(t *testing.T) {
	t.Parallel()
	var got *BaselineOptions
	require.NoError(t, cmdtest.Execute(t, NewCmdBaseline(cmdtest.Factory(), cmdtest.Capture(&got)), "hooli", "--version", "3", "--dry-run"))
	require.Equal(t, rollout.BaselineOptions{Tenant: "hooli", Version: 3, DryRun: true}, got.Baseline)
	for _, args := range [][]string{{"hooli"}, {"--version", "3"}} {
		require.ErrorIs(t, cmdtest.Execute(t, NewCmdBaseline(cmdtest.Factory(), cmdtest.Refuse[BaselineOptions](t)), args...), validate.ErrInvalid, "%v", args)
	}
}

func TestNewCmdMigrateGroup(t *testing.T) {
	t.Parallel()
	require.Equal(t, []string{"baseline", "down", "status", "up"}, cmdtest.Names(NewCmdMigrate(cmdtest.Factory())))
}
