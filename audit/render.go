package audit

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/tenantctl/tenantctl/internal/validate"
)

// Formats a report renders in.
const (
	FormatText     = "text"
	FormatJSON     = "json"
	FormatMarkdown = "markdown"
)

// Render writes the report in format (text, json or markdown).
func Render(w io.Writer, r Report, format string) error {
	switch format {
	case FormatText, "":
		return WriteText(w, r)
	case FormatJSON:
		b, err := r.JSON()
		if err != nil {
			return err
		}
		_, err = w.Write(b)
		return err
	case FormatMarkdown, "md":
		return WriteMarkdown(w, r)
	default:
		return validate.Errorf("invalid report format %q: use text, json or markdown", format)
	}
}

// verdict is the one-line outcome.
func verdict(r Report) string {
	where := fmt.Sprintf("%d tenants on %d servers", r.Tenants, r.Scope.Servers)
	if r.Scope.Tenant != "" {
		where = "tenant " + r.Scope.Tenant
	}
	if r.Passed {
		return fmt.Sprintf("PASSED: %d checks on %s, no violations", r.Checks, where)
	}
	return fmt.Sprintf("FAILED: %d violations (%s) in %d checks on %s", len(r.Violations), severityText(r), r.Checks, where)
}

func severityText(r Report) string {
	counts := r.SeverityCounts()
	var parts []string
	for _, s := range []string{Critical, High, Medium, Low} {
		if counts[s] > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", counts[s], s))
		}
	}
	return strings.Join(parts, ", ")
}

func probeText(r Report) string {
	p := r.Probes
	if !p.Enabled {
		return "off"
	}
	return fmt.Sprintf("on: %d tenants' credentials, %d login attempts (%d refused as they must be, %d logged in, %d inconclusive), "+
		"%d tenants not probed", p.Tenants, p.Attempts, p.Refused, p.Connected, p.Inconclusive, p.Skipped)
}

// WriteText writes the report for a terminal: the verdict, a summary table per check,
// the violations and what changed since the previous run.
func WriteText(w io.Writer, r Report) error {
	fmt.Fprintf(w, "Isolation audit %s\n", verdict(r))
	fmt.Fprintf(w, "Probes: %s\n\n", probeText(r))
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "CHECK\tSEVERITY\tEVALUATED\tVIOLATIONS")
	for _, s := range r.Summary {
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\n", s.Check, s.Severity, s.Evaluated, s.Violations)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if len(r.Violations) > 0 {
		fmt.Fprintf(w, "\nVIOLATIONS\n")
		tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "SEVERITY\tCHECK\tTENANT\tDETAIL")
		for _, v := range bySeverity(r.Violations) {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s%s\n", v.Severity, v.Check, dash(v.Tenant), v.Detail, noAnswerNote(v))
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	if c := r.Changes; c != nil {
		if c.Empty() {
			fmt.Fprintf(w, "\nNo change since run #%d.\n", c.PreviousRun)
		} else {
			fmt.Fprintf(w, "\nChanges since run #%d: %d new, %d resolved\n", c.PreviousRun, len(c.New), len(c.Resolved))
			for _, v := range c.New {
				fmt.Fprintf(w, "  + %s %s %s: %s\n", v.Severity, v.Check, dash(v.Tenant), v.Detail)
			}
			for _, v := range c.Resolved {
				fmt.Fprintf(w, "  - %s %s %s: %s\n", v.Severity, v.Check, dash(v.Tenant), v.Detail)
			}
		}
	}
	if len(r.Notes) > 0 {
		fmt.Fprintf(w, "\nNotes:\n")
		for _, n := range r.Notes {
			fmt.Fprintf(w, "  - %s\n", n)
		}
	}
	if r.RunID > 0 {
		fmt.Fprintf(w, "\nRecorded as audit run #%d (JSON report SHA-256 %s).\n", r.RunID, r.SHA256)
	}
	return nil
}

// bySeverity orders violations most severe first, keeping the stable order within.
func bySeverity(vs []Violation) []Violation {
	out := append([]Violation(nil), vs...)
	sort.SliceStable(out, func(i, j int) bool { return severityRank[out[i].Severity] < severityRank[out[j].Severity] })
	return out
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// WriteMarkdown writes a report an auditor can file: date, scope, the checks run and
// what each verifies, the result per tenant, every violation with its evidence, and
// what changed since the previous run.
func WriteMarkdown(w io.Writer, r Report) error {
	var b strings.Builder
	p := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	result := "**PASSED** — no violations"
	if !r.Passed {
		result = fmt.Sprintf("**FAILED** — %d violations (%s)", len(r.Violations), severityText(r))
	}
	scope := fmt.Sprintf("the whole fleet: %d tenants on %d servers", r.Tenants, r.Scope.Servers)
	if r.Scope.Tenant != "" {
		scope = fmt.Sprintf("tenant `%s` only (fleet-wide drift checks not run)", r.Scope.Tenant)
	}
	warehouse := "checked"
	if !r.Scope.Warehouse {
		warehouse = "not checked (see notes)"
	}
	p("# Tenant isolation audit\n\n")
	p("| | |\n|---|---|\n")
	p("| Result | %s |\n", result)
	p("| Date | %s (UTC), %s |\n", r.StartedAt.UTC().Format("2006-01-02 15:04:05"), r.FinishedAt.Sub(r.StartedAt).Round(time.Millisecond))
	p("| Scope | %s |\n", scope)
	p("| Live probes | %s |\n", mdCell(probeText(r)))
	p("| Warehouse | %s |\n", warehouse)
	p("| Check evaluations | %d |\n", r.Checks)
	if r.RunID > 0 {
		p("| Audit run | #%d — SHA-256 of the JSON report: `%s` |\n", r.RunID, r.SHA256)
	}
	p("\nEvery check reads the servers' actual state (catalogs, ACLs, memberships), not the configuration tenantctl intended; the audit opened read-only sessions only and changed nothing.\n")

	p("\n## Checks run\n\n")
	p("| Check | Severity | What it verifies | Evaluated | Violations |\n|---|---|---|---:|---:|\n")
	for _, s := range r.Summary {
		p("| `%s` | %s | %s | %d | %d |\n", s.Check, s.Severity, mdCell(s.Description), s.Evaluated, s.Violations)
	}

	p("\n## Results per tenant\n\n")
	if len(r.Results) == 0 {
		p("No tenants.\n")
	} else {
		p("| Tenant | Server | State | Checks | Probe attempts | Violations | Result |\n|---|---|---|---:|---:|---:|---|\n")
		for _, t := range r.Results {
			res := "passed"
			if !t.Passed {
				res = "**failed**"
			}
			p("| `%s` | %s | %s | %d | %d | %d | %s |\n", t.Tenant, mdCell(t.Server), t.State, t.Checks, t.Probes, t.Violations, res)
		}
	}

	p("\n## Violations\n\n")
	if len(r.Violations) == 0 {
		p("None.\n")
	}
	for i, v := range bySeverity(r.Violations) {
		tenant := "fleet-wide"
		if v.Tenant != "" {
			tenant = "tenant `" + v.Tenant + "`"
		}
		p("%d. **%s** `%s` — %s", i+1, v.Severity, v.Check, tenant)
		if v.Server != "" {
			p(" — %s", v.Server)
		}
		p("  \n   Evidence: %s%s\n", mdText(v.Detail), noAnswerNote(v))
	}

	if c := r.Changes; c != nil {
		p("\n## Changes since the previous run (#%d)\n\n", c.PreviousRun)
		if c.Empty() {
			p("No change.\n")
		}
		for _, v := range c.New {
			p("- new: **%s** `%s` %s — %s\n", v.Severity, v.Check, dash(v.Tenant), mdText(v.Detail))
		}
		for _, v := range c.Resolved {
			p("- resolved: `%s` %s — %s\n", v.Check, dash(v.Tenant), mdText(v.Detail))
		}
	}

	p("\n## Servers\n\n")
	p("| Server | Reachable | Tenants | Databases | Roles | Superusers | Catalog queries |\n|---|---|---:|---:|---:|---|---:|\n")
	for _, s := range r.Servers {
		reach := "yes"
		if !s.Reachable {
			reach = "**no**: " + mdCell(s.Error)
		}
		p("| %s | %s | %d | %d | %d | %s | %d |\n", mdCell(s.Name), reach, s.Tenants, s.Databases, s.Roles, mdCell(strings.Join(s.Superusers, ", ")), s.Queries)
	}
	p("\nSuperusers bypass every privilege check; they are the server operators' roles and are listed as evidence, not as violations.\n")

	if len(r.Notes) > 0 {
		p("\n## Notes\n\n")
		for _, n := range r.Notes {
			p("- %s\n", mdText(n))
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// mdCell makes text safe inside a Markdown table cell.
func mdCell(s string) string {
	return strings.NewReplacer("|", `\|`, "\n", " ").Replace(s)
}

// mdText keeps evidence from being read as Markdown markup.
func mdText(s string) string {
	return strings.NewReplacer("\n", " ", "*", `\*`, "`", "'", "<", "&lt;", ">", "&gt;", "|", `\|`).Replace(s)
}

// noAnswerNote marks a finding the server did not answer for: it proves nothing.
func noAnswerNote(v Violation) string {
	if v.Unanswered {
		return " [no answer from the server: unproven, not a breach]"
	}
	if v.Unverified {
		return " [unverified: the audit's verdict is incomplete]"
	}
	return ""
}
