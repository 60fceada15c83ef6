package audit

import (
	"testing"

	"github.com/stretchr/testify/require"

	auditlib "github.com/tenantctl/tenantctl/audit"
	"github.com/tenantctl/tenantctl/cli/cmdutil"
)

// TestAuditExitCode: a CI job tells "evidence of a breach" (3) from "the audit could not
// finish" (1) by the exit status alone.
func TestAuditExitCode(t *testing.T) {
	t.Parallel()
	breach := auditlib.Violation{Check: auditlib.CheckDBPublicACL, Severity: auditlib.Critical, Tenant: "a"}
	silent := auditlib.Violation{Check: auditlib.CheckDBExtensions, Severity: auditlib.High, Tenant: "a", Unanswered: true}
	probe := auditlib.Violation{Check: "probe.cross_tenant", Severity: auditlib.Medium, Tenant: "a"}
	unverified := auditlib.Violation{Check: auditlib.CheckServerHBA, Severity: auditlib.High, Tenant: "a", Unverified: true}
	unreachable := auditlib.Violation{Check: auditlib.CheckServerReachable, Severity: auditlib.Critical, Tenant: "a"}
	for _, tc := range []struct {
		name string
		r    auditlib.Report
		want int
	}{
		{"a proven violation", auditlib.Report{Violations: []auditlib.Violation{breach}}, cmdutil.ExitViolations},
		{"a server that stopped answering mid-run", auditlib.Report{Violations: []auditlib.Violation{silent}}, cmdutil.ExitFailure},
		{"only inconclusive probes", auditlib.Report{Violations: []auditlib.Violation{probe}, Probes: auditlib.ProbeSummary{Inconclusive: 1}}, cmdutil.ExitFailure},
		{"pg_hba.conf rules the admin may not read", auditlib.Report{Violations: []auditlib.Violation{unverified}}, cmdutil.ExitFailure},
		{"a breach beside unverified rules", auditlib.Report{Violations: []auditlib.Violation{unverified, breach}}, cmdutil.ExitViolations},
		{"a breach beside a silent server", auditlib.Report{Violations: []auditlib.Violation{silent, breach}}, cmdutil.ExitViolations},
		{"an unreachable server", auditlib.Report{Violations: []auditlib.Violation{breach, unreachable}}, cmdutil.ExitFailure},
	} {
		require.Equal(t, tc.want, ExitCode(tc.r), tc.name)
	}
}
