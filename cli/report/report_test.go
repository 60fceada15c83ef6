package report

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tenantctl/tenantctl/cli/cmdtest"
	"github.com/tenantctl/tenantctl/internal/validate"
)

func TestReportFlagsBecomeOptions(t *testing.T) {
	t.Parallel()
	var got *Options
	require.NoError(t, cmdtest.Execute(t, NewCmdReport(cmdtest.Factory(), cmdtest.Capture(&got)), "--tenant", "acme"))
	require.Equal(t, Options{Factory: got.Factory, Tenant: "acme", Format: "md"}, *got)
	require.NoError(t, cmdtest.Execute(t, NewCmdReport(cmdtest.Factory(), cmdtest.Capture(&got)), "--all", "--out-dir", "/srv/r", "--format", "csv", "--report-spec", "r.yaml"))
	require.Equal(t, Options{Factory: got.Factory, All: true, OutDir: "/srv/r", Format: "csv", SpecPath: "r.yaml"}, *got)

	f := cmdtest.Factory()
	f.Getenv = func(k string) string { return map[string]string{"TENANTCTL_REPORT_SPEC": "env.yaml"}[k] }
	require.NoError(t, cmdtest.Execute(t, NewCmdReport(f, cmdtest.Capture(&got)), "--tenant", "acme", "--format", "html", "--out", "a.html"))
	require.Equal(t, Options{Factory: f, Tenant: "acme", Format: "html", Out: "a.html", SpecPath: "env.yaml"}, *got)

	for _, args := range [][]string{
		{}, {"--tenant", "acme", "--all", "--out-dir", "d"}, {"--all"}, {"--tenant", "acme", "--out-dir", "d"},
		{"--tenant", "acme", "--format", "pdf"}, {"--tenant", "Not A Slug"},
	} {
		require.ErrorIs(t, cmdtest.Execute(t, NewCmdReport(cmdtest.Factory(), cmdtest.Refuse[Options](t)), args...), validate.ErrInvalid, "%v", args)
	}
}
