package audit

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	auditlib "github.com/tenantctl/tenantctl/audit"
	"github.com/tenantctl/tenantctl/cli/cmdtest"
	"github.com/tenantctl/tenantctl/fleet"
	"github.com/tenantctl/tenantctl/internal/validate"
)

func TestAuditFlagsBecomeOptions(t *testing.T) {
	t.Parallel()
	var got *Options
	require.NoError(t, cmdtest.Execute(t, NewCmdAudit(cmdtest.Factory(), cmdtest.Capture(&got))))
	got.Audit.Log = nil // the library's Validate gives it a logger
	require.Equal(t, auditlib.Options{ZeroIsNone: true,
		ProbeNeighbours: auditlib.DefaultProbeNeighbours, ProbeSample: auditlib.DefaultProbeSample, ConnectTimeout: auditlib.DefaultConnectTimeout,
		Options: fleet.Options{Concurrency: auditlib.DefaultConcurrency, PerServer: auditlib.DefaultPerServer}}, got.Audit)
	require.Empty(t, got.Out)

	require.NoError(t, cmdtest.Execute(t, NewCmdAudit(cmdtest.Factory(), cmdtest.Capture(&got)), "--tenant", "acme", "--no-probes", "--out", "report.md",
		"--concurrency", "2", "--per-server", "1", "--probe-neighbours", "-1", "--probe-sample", "0", "--connect-timeout", "3s"))
	got.Audit.Log = nil
	require.Equal(t, auditlib.Options{NoProbes: true, ZeroIsNone: true,
		ProbeNeighbours: -1, ProbeSample: 0, ConnectTimeout: 3 * time.Second, Options: fleet.Options{Tenant: "acme", Concurrency: 2, PerServer: 1}}, got.Audit)
	require.Equal(t, "report.md", got.Out)

	for _, args := range [][]string{{"--probe-neighbours", "0"}, {"--probe-neighbours", "-2"}, {"--connect-timeout", "0s"}, {"--per-server", "0"}, {"x"}} {
		require.ErrorIs(t, cmdtest.Execute(t, NewCmdAudit(cmdtest.Factory(), cmdtest.Refuse[Options](t)), args...), validate.ErrInvalid, "%v", args)
	}
}

func TestHistoryFlagsBecomeOptions(t *testing.T) {
	t.Parallel()
	var got *HistoryOptions
	require.NoError(t, cmdtest.Execute(t, NewCmdHistory(cmdtest.Factory(), cmdtest.Capture(&got))))
	require.Equal(t, 20, got.Limit)
	require.NoError(t, cmdtest.Execute(t, NewCmdHistory(cmdtest.Factory(), cmdtest.Capture(&got)), "--limit", "5"))
	require.Equal(t, 5, got.Limit)
	require.ErrorIs(t, cmdtest.Execute(t, NewCmdHistory(cmdtest.Factory(), cmdtest.Refuse[HistoryOptions](t)), "x"), validate.ErrInvalid)
}
