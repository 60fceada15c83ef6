package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"testing"
	"time"

	"github.com/spf13/cobra"
	"github.com/stretchr/testify/require"

	"github.com/tenantctl/tenantctl/audit"
	"github.com/tenantctl/tenantctl/catalog"
	"github.com/tenantctl/tenantctl/fleet"
	"github.com/tenantctl/tenantctl/internal/validate"
	"github.com/tenantctl/tenantctl/provisioner"
	"github.com/tenantctl/tenantctl/rollout"
	"github.com/tenantctl/tenantctl/rollup"
)

// The flags → options layer, checked without PostgreSQL: each command is built with a
// runF that captures the options instead of running (cli/cli's seam).

// execute runs cmd with args and reports whether runF was reached.
func execute(t *testing.T, cmd *cobra.Command, args ...string) error {
	t.Helper()
	cmd.SetArgs(args)
	cmd.SetOut(io.Discard)
	cmd.SetErr(io.Discard)
	cmd.SilenceErrors, cmd.SilenceUsage = true, true
	return cmd.ExecuteContext(context.Background())
}

func TestMigrateUpFlagsBecomeOptions(t *testing.T) {
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
			o.Canary, o.MaxFailures = -1, -1
			o.LockTimeout, o.StatementTimeout, o.LockWait = rollout.DefaultLockTimeout, rollout.DefaultStatementTimeout, rollout.DefaultLockWait
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			var got *rollout.Options
			cmd := (&app{}).migrateUpCmd(func(_ context.Context, o rollout.Options) error { got = &o; return nil })
			require.NoError(t, execute(t, cmd, c.args...))
			var want rollout.Options
			c.want(&want)
			require.Equal(t, want, *got)
		})
	}
	for _, args := range [][]string{{"--concurrency", "0"}, {"--per-server", "0"}, {"--canary", "-1"}, {"--max-failures", "-2"}} {
		t.Run("refused "+args[0]+" "+args[1], func(t *testing.T) {
			t.Parallel()
			cmd := (&app{}).migrateUpCmd(func(context.Context, rollout.Options) error {
				t.Fatal("a refused flag must not reach the run")
				return nil
			})
			require.ErrorIs(t, execute(t, cmd, args...), validate.ErrInvalid)
		})
	}
}

func TestRollupRunFlagsBecomeOptions(t *testing.T) {
	t.Parallel()
	var got *rollup.Options
	cmd := (&app{}).rollupRunCmd(func(_ context.Context, o rollup.Options) error { got = &o; return nil })
	require.NoError(t, execute(t, cmd, "--tenant", "acme", "--concurrency", "6", "--per-server", "1"))
	require.Equal(t, rollup.Options{Options: fleet.Options{Tenant: "acme", Concurrency: 6, PerServer: 1}}, *got)

	got = nil
	cmd = (&app{}).rollupRunCmd(func(_ context.Context, o rollup.Options) error { got = &o; return nil })
	require.ErrorIs(t, execute(t, cmd, "--per-server", "0"), validate.ErrInvalid)
	require.Nil(t, got, "a refused flag does not reach the run")
}

func TestAuditFlagsBecomeOptions(t *testing.T) {
	t.Parallel()
	var got *audit.Options
	var gotOut string
	run := func(_ context.Context, o audit.Options, out string) error { got, gotOut = &o, out; return nil }

	require.NoError(t, execute(t, (&app{}).auditCmd(run)))
	require.Equal(t, audit.Options{
		ProbeNeighbours: audit.DefaultProbeNeighbours, ProbeSample: audit.DefaultProbeSample, ConnectTimeout: audit.DefaultConnectTimeout, Options: fleet.Options{Concurrency: audit.DefaultConcurrency, PerServer: audit.DefaultPerServer}}, *got)
	require.Empty(t, gotOut)

	require.NoError(t, execute(t, (&app{}).auditCmd(run), "--tenant", "acme", "--no-probes", "--out", "report.md",
		"--concurrency", "2", "--per-server", "1", "--probe-neighbours", "-1", "--probe-sample", "0", "--connect-timeout", "3s"))
	require.Equal(t, audit.Options{NoProbes: true,
		ProbeNeighbours: -1, ProbeSample: 0, ConnectTimeout: 3 * time.Second, Options: fleet.Options{Tenant: "acme", Concurrency: 2, PerServer: 1}}, *got)
	require.Equal(t, "report.md", gotOut)
}

// The hints for the terminal are added by type, and keep the wrapping context.
func TestDescribeErrorAddsFlagHintsByType(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		err  error
		want string
	}{
		{validate.Field("per-server", -1, "it must be at least 1"), "invalid --per-server -1: it must be at least 1"},
		{&validate.MissingError{Field: "dsn", What: "the warehouse database's connection string"}, "--dsn is required: the warehouse database's connection string"},
		{fmt.Errorf("tenant \"acme\" is at version 2: %w", &validate.FieldError{Field: "to", Reason: "must name a lower version"}),
			"tenant \"acme\" is at version 2: --to must name a lower version"},
		{provisioner.Confirm("delete", "acme", "other"), "refusing to delete \"acme\": pass --confirm acme to confirm"},
		{fmt.Errorf("rollup: %w", catalog.ErrNoWarehouse), "rollup: no warehouse registered: run `tenantctl warehouse init --dsn DSN`"},
		{rollout.ErrFleetDown, "migrate down works on one tenant at a time: name it with --tenant SLUG (rolling back the whole fleet is refused)"},
		{errors.New("unrelated"), "unrelated"},
	} {
		require.Equal(t, c.want, describeError(c.err))
	}
}
