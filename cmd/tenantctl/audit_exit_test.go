package main

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tenantctl/tenantctl/audit"
)

// TestAuditExitCode: a CI job tells "evidence of a breach" (3) from "the audit could not
// finish" (1) by the exit status alone.
func TestAuditExitCode(t *testing.T) {
	t.Parallel()
	breach := audit.Violation{Check: audit.CheckDBPublicACL, Severity: audit.Critical, Tenant: "a"}
	silent := audit.Violation{Check: audit.CheckDBExtensions, Severity: audit.High, Tenant: "a", Unanswered: true}
	probe := audit.Violation{Check: "probe.cross_tenant", Severity: audit.Medium, Tenant: "a"}
	unverified := audit.Violation{Check: audit.CheckServerHBA, Severity: audit.High, Tenant: "a", Unverified: true}
	unreachable := audit.Violation{Check: audit.CheckServerReachable, Severity: audit.Critical, Tenant: "a"}
	for _, tc := range []struct {
		name string
		r    audit.Report
		want int
	}{
		{"a proven violation", audit.Report{Violations: []audit.Violation{breach}}, exitViolations},
		{"a server that stopped answering mid-run", audit.Report{Violations: []audit.Violation{silent}}, exitFailure},
		{"only inconclusive probes", audit.Report{Violations: []audit.Violation{probe}, Probes: audit.ProbeSummary{Inconclusive: 1}}, exitFailure},
		{"pg_hba.conf rules the admin may not read", audit.Report{Violations: []audit.Violation{unverified}}, exitFailure},
		{"a breach beside unverified rules", audit.Report{Violations: []audit.Violation{unverified, breach}}, exitViolations},
		{"a breach beside a silent server", audit.Report{Violations: []audit.Violation{silent, breach}}, exitViolations},
		{"an unreachable server", audit.Report{Violations: []audit.Violation{breach, unreachable}}, exitFailure},
	} {
		require.Equal(t, tc.want, auditExitCode(tc.r), tc.name)
	}
}
