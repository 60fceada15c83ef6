package audit

import (
	"fmt"
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
}

func newCollector() *collector {
	return &collector{evals: map[string]int{}, tenant: map[string]int{}, probes: map[string]int{}}
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
