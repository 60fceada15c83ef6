package audit

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tenantctl/tenantctl/catalog"
)

func TestTenantTokensMatch(t *testing.T) {
	t.Parallel()
	acme := tenantTokens(catalog.Tenant{Slug: "acme-eu", Name: "Acme Logistics Services", Domain: "acme-logistics.example"})
	abc := tenantTokens(catalog.Tenant{Slug: "abc", Name: "AB Foods", Domain: "abc.io"})
	found := func(toks []token, text string) []string {
		var kinds []string
		for _, tok := range toks {
			if tok.match(newText("x", text)) && !containsString(kinds, tok.kind) {
				kinds = append(kinds, tok.kind)
			}
		}
		return kinds
	}
	for _, c := range []struct {
		toks []token
		text string
		want []string
	}{
		{acme, "Main DB of ACME Logistics Services", []string{"email domain label", "display name", "display name word"}},
		{acme, "reporting_acme_eu", []string{"slug", "display name word"}},
		{acme, "owner: ops@acme-logistics.example", []string{"email domain", "email domain label", "display name word"}},
		{acme, "acmelogistics_ro", []string{"email domain label", "display name word"}},
		{acme, "shared services database", nil}, // a generic word alone identifies nobody
		{acme, "t_k3j9f2m4q1_app", nil},
		{abc, "abc_reader", []string{"slug"}}, // short tokens match whole words only
		{abc, "abcdef", nil},
		{abc, "ab foods warehouse", []string{"display name", "display name word"}},
		{abc, "lab food", nil}, // neither "ab foods" nor "foods"
	} {
		require.Equal(t, c.want, found(c.toks, c.text), c.text)
	}
}

func TestGeneratedNames(t *testing.T) {
	t.Parallel()
	require.True(t, generatedName("t_abcdefghij"))
	require.True(t, generatedName("t_abcdefghij_owner"))
	require.True(t, generatedName("tenantctl_tmpl_0123456789abcdef"))
	require.False(t, generatedName("t_acme"), "named like a tenant, but not by tenantctl")
	require.False(t, generatedName("t_abcdefghij_reader"))
}

func sampleReport() Report {
	at := time.Date(2026, 5, 4, 3, 2, 1, 0, time.UTC)
	return Report{
		Tenants: 2, Checks: 40, StartedAt: at, FinishedAt: at.Add(1500 * time.Millisecond),
		Scope: Scope{Probes: true, Warehouse: true, Servers: 2},
		Violations: []Violation{
			{Check: CheckNamesOpaque, Severity: High, Tenant: "acme", Detail: `comment on database "t_x" on server pg-a contains the tenant's slug | pipe`, Server: "pg-a"},
			{Check: CheckDBPublicACL, Severity: Critical, Tenant: "acme", Detail: "PUBLIC holds CONNECT on database t_x", Server: "pg-a"},
		},
		Summary: []CheckSummary{{Check: CheckDBPublicACL, Severity: Critical, Evaluated: 2, Violations: 1, Description: checkInfo(CheckDBPublicACL).Description}},
		Results: []TenantResult{{Tenant: "acme", Server: "pg-a", State: "active", Checks: 20, Violations: 2}, {Tenant: "beta", Server: "pg-b", State: "active", Checks: 20, Passed: true}},
		Servers: []ServerResult{{Name: "pg-a", Reachable: true, Tenants: 1, Superusers: []string{"postgres"}, Queries: 3}},
		Probes:  ProbeSummary{Enabled: true, Tenants: 2, Attempts: 8, Refused: 6, Connected: 2, Neighbours: 10, Sample: 2},
		Notes:   []string{"no warehouse"},
		Changes: &Changes{PreviousRun: 3, New: []Violation{{Check: CheckDBPublicACL, Severity: Critical, Tenant: "acme", Detail: "PUBLIC holds CONNECT on database t_x"}}, Resolved: []Violation{}},
		RunID:   4, SHA256: strings.Repeat("ab", 32),
	}
}

func TestRenderings(t *testing.T) {
	t.Parallel()
	r := sampleReport()
	var md bytes.Buffer
	require.NoError(t, Render(&md, r, FormatMarkdown))
	for _, want := range []string{
		"# Tenant isolation audit", "| Result | **FAILED** — 2 violations (1 critical, 1 high) |", "| Date | 2026-05-04 03:02:01 (UTC), 1.5s |",
		"## Checks run", "| `db.public_acl` | critical |", "## Results per tenant", "| `acme` | pg-a | active | 20 | 0 | 2 | **failed** |",
		"1. **critical** `db.public_acl` — tenant `acme` — pg-a", `slug \| pipe`, "## Changes since the previous run (#3)",
		"- new: **critical** `db.public_acl` acme", "| pg-a | yes | 1 | 0 | 0 | postgres | 3 |", "#4 — SHA-256 of the JSON report: `abab",
	} {
		require.Contains(t, md.String(), want)
	}
	var text bytes.Buffer
	require.NoError(t, Render(&text, r, FormatText))
	require.Contains(t, text.String(), "Isolation audit FAILED: 2 violations (1 critical, 1 high) in 40 checks on 2 tenants on 2 servers")
	// Most severe first in the text listing.
	require.Less(t, strings.Index(text.String(), "critical  db.public_acl"), strings.Index(text.String(), "high      names.opaque"))
	require.Contains(t, text.String(), "Changes since run #3: 1 new, 0 resolved")
	require.Contains(t, text.String(), "Recorded as audit run #4")
	require.Error(t, Render(&text, r, "yaml"))

	var js bytes.Buffer
	require.NoError(t, Render(&js, r, FormatJSON))
	var m map[string]any
	require.NoError(t, json.Unmarshal(js.Bytes(), &m))
	for _, k := range []string{"passed", "tenants", "checks", "violations", "summary", "results", "servers", "probes", "notes", "changes", "scope"} {
		require.Contains(t, m, k)
	}
	v := m["violations"].([]any)[0].(map[string]any)
	for _, k := range []string{"check", "severity", "tenant", "detail"} {
		require.Contains(t, v, k)
	}
	require.NotContains(t, m, "RunID")
	require.NotContains(t, m, "SHA256")
}

func TestDiff(t *testing.T) {
	t.Parallel()
	a := Violation{Check: CheckDBPublicACL, Tenant: "acme", Detail: "x"}
	b := Violation{Check: CheckDBOwner, Tenant: "beta", Detail: "y"}
	c := Violation{Check: CheckDBOwner, Tenant: "acme", Detail: "z"}
	d := diff(7, []Violation{a, b}, []Violation{b, c})
	require.Equal(t, int64(7), d.PreviousRun)
	require.Equal(t, []Violation{c}, d.New)
	require.Equal(t, []Violation{a}, d.Resolved)
	require.True(t, diff(1, []Violation{a}, []Violation{a}).Empty())
}

func TestSeverity(t *testing.T) {
	t.Parallel()
	require.Equal(t, Critical, maxSeverity(High, Critical))
	require.Equal(t, High, maxSeverity("", High))
	require.Equal(t, Medium, maxSeverity(Medium, Low))
	for _, c := range Checks {
		require.Contains(t, severityRank, c.Severity, c.ID)
		require.NotEmpty(t, c.Description)
	}
}

func TestZeroIsNoneReadsZeroProbeSampleAsNone(t *testing.T) {
	t.Parallel()
	o := Options{Store: &catalog.Store{}} // Validate only checks that there is one
	require.NoError(t, o.Validate())
	require.Equal(t, DefaultProbeSample, o.ProbeSample, "0 is the default for callers that leave it unset")
	o = Options{Store: &catalog.Store{}, ZeroIsNone: true}
	require.NoError(t, o.Validate())
	require.Zero(t, o.ProbeSample, "0 is none")
	o = Options{Store: &catalog.Store{}, ZeroIsNone: true, ProbeSample: 4}
	require.NoError(t, o.Validate())
	require.Equal(t, 4, o.ProbeSample)
}
