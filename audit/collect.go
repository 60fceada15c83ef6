package audit

import (
	"fmt"
	"sort"
	"strings"
	"sync"

	"github.com/tenantctl/tenantctl/internal/dbconn"
)

// collector gathers evaluations and violations from concurrent workers.
type collector struct {
	mu         sync.Mutex
	evals      map[string]int // by check
	tenant     map[string]int // evaluations by tenant slug
	probes     map[string]int // probe attempts by tenant slug
	violations []Violation
	// notes are what is worth knowing but breaks no rule, by tenant slug.
	notes map[string][]string
}

func newCollector() *collector {
	return &collector{evals: map[string]int{}, tenant: map[string]int{}, probes: map[string]int{}, notes: map[string][]string{}}
}

// definerNote records a SECURITY DEFINER function the tenant owns itself (the report's notes sum
// them up).
func (c *collector) definerNote(tenant, what string) {
	c.mu.Lock()
	c.notes[tenant] = append(c.notes[tenant], what)
	c.mu.Unlock()
}

// evaluated counts one evaluation of check, on behalf of tenant ("" for the fleet).
func (c *collector) evaluated(check, tenant string) {
	c.mu.Lock()
	c.evals[check]++
	if tenant != "" {
		c.tenant[tenant]++
	}
	c.mu.Unlock()
}

// violation records a failed check. severity "" means the check's usual severity.
func (c *collector) violation(check, severity, tenant, server, format string, args ...any) {
	if severity == "" {
		severity = checkInfo(check).Severity
	}
	v := Violation{Check: check, Severity: severity, Tenant: tenant, Server: server, Detail: fmt.Sprintf(format, args...)}
	c.mu.Lock()
	c.violations = append(c.violations, v)
	c.mu.Unlock()
}

// unproven records a check that could not be made because of err. When err means the
// server did not answer at all, the finding is marked [Violation.Unanswered].
func (c *collector) unproven(err error, check, severity, tenant, server, format string, args ...any) {
	if severity == "" {
		severity = checkInfo(check).Severity
	}
	v := Violation{Check: check, Severity: severity, Tenant: tenant, Server: server, Detail: fmt.Sprintf(format, args...),
		Unanswered: dbconn.NoAnswer(err)}
	c.mu.Lock()
	c.violations = append(c.violations, v)
	c.mu.Unlock()
}

// maxSeverity returns the more severe of a and b.
func maxSeverity(a, b string) string {
	if a == "" {
		return b
	}
	if b == "" {
		return a
	}
	if severityRank[b] < severityRank[a] {
		return b
	}
	return a
}

// roleIssues gathers what is wrong with one role for a single finding: the list it
// names and the worst severity among them.
type roleIssues struct {
	list []string
	sev  string
}

// add notes what, at severity, when cond holds.
func (ri *roleIssues) add(cond bool, severity, what string) {
	if cond {
		ri.list = append(ri.list, what)
		ri.sev = maxSeverity(ri.sev, severity)
	}
}

// String lists the issues as a finding names them.
func (ri *roleIssues) String() string { return strings.Join(ri.list, ", ") }

// namesWithPrefix returns the names in m (a server's roles or databases) that start
// with prefix, sorted.
func namesWithPrefix[V any](m map[string]V, prefix string) []string {
	var out []string
	for name := range m {
		if strings.HasPrefix(name, prefix) {
			out = append(out, name)
		}
	}
	sort.Strings(out)
	return out
}

// maxNotedTenants bounds the tenants a note names one by one.
const maxNotedTenants = 10

// tenantNotes sums up the tenants' notes: one line however many tenants they concern.
func (c *collector) tenantNotes() []string {
	slugs := make([]string, 0, len(c.notes))
	for slug := range c.notes {
		slugs = append(slugs, slug)
	}
	if len(slugs) == 0 {
		return nil
	}
	sort.Strings(slugs)
	var parts []string
	for i, slug := range slugs {
		if i == maxNotedTenants {
			parts = append(parts, fmt.Sprintf("and %d more tenants", len(slugs)-i))
			break
		}
		list := c.notes[slug]
		sort.Strings(list)
		parts = append(parts, slug+": "+strings.Join(list, ", "))
	}
	return []string{fmt.Sprintf("%d tenants hold SECURITY DEFINER functions owned by their own owner role, which run with no more than the customer's own rights (not a violation): %s",
		len(slugs), strings.Join(parts, "; "))}
}
