package audit

import (
	"bytes"
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"slices"
	"time"
)

// Violation is one failed check, with its evidence.
type Violation struct {
	Check    string `json:"check"`
	Severity string `json:"severity"`
	// Tenant is the slug of the tenant concerned, or "" for a fleet-wide finding.
	Tenant string `json:"tenant"`
	Detail string `json:"detail"`
	// Server is where the evidence was found, when it was on one server.
	Server string `json:"server,omitempty"`
	// Unanswered marks a check that could not be made because the server did not answer
	// (it stopped, froze or dropped the connection): the finding proves nothing either
	// way, and makes the audit's verdict incomplete rather than failed.
	Unanswered bool `json:"unanswered,omitempty"`
	// Unverified marks a check the audit could not make because the server does not
	// let the admin role read what it needs (its effective pg_hba.conf rules): like
	// Unanswered, it makes the verdict incomplete, never passed.
	Unverified bool `json:"unverified,omitempty"`
}

func (v Violation) key() string { return v.Check + "\x00" + v.Tenant + "\x00" + v.Detail }

func compareViolations(a, b Violation) int {
	return cmp.Or(cmp.Compare(a.Check, b.Check), cmp.Compare(a.Tenant, b.Tenant), cmp.Compare(a.Detail, b.Detail),
		cmp.Compare(a.Server, b.Server))
}

// Report is the outcome of one audit run. Its JSON form (see [Report.JSON]) is stable:
// every list is sorted.
type Report struct {
	Passed  bool `json:"passed"`
	Tenants int  `json:"tenants"`
	// Checks counts individual check evaluations (one check on one tenant, role,
	// server or probe attempt).
	Checks     int         `json:"checks"`
	Violations []Violation `json:"violations"`

	StartedAt  time.Time `json:"started_at"`
	FinishedAt time.Time `json:"finished_at"`
	Scope      Scope     `json:"scope"`
	// Summary has one line per check: how often it was evaluated and failed.
	Summary []CheckSummary `json:"summary"`
	// Results has one line per tenant audited.
	Results []TenantResult `json:"results"`
	Servers []ServerResult `json:"servers"`
	Probes  ProbeSummary   `json:"probes"`
	// Notes say what was not checked and why.
	Notes []string `json:"notes"`
	// Changes compare this run's violations with the previous recorded run of the
	// same scope with probes alike (absent when there is none or the run is not
	// recorded).
	Changes *Changes `json:"changes,omitempty"`

	// RunID is the run's id in the audit history (0 when not recorded).
	RunID int64 `json:"-"`
	// SHA256 is the hex SHA-256 of the JSON report, as recorded in the history.
	SHA256 string `json:"-"`
	// Phases are the run's durations by phase (catalog, servers, checks, databases,
	// probes); kept out of the JSON, which must not vary with timing.
	Phases map[string]time.Duration `json:"-"`
}

// Scope is what a run covered.
type Scope struct {
	// Tenant is the slug the run was narrowed to, or "" for the whole fleet.
	Tenant    string `json:"tenant"`
	Probes    bool   `json:"probes"`
	Warehouse bool   `json:"warehouse"`
	Servers   int    `json:"servers"`
}

// CheckSummary counts one check's evaluations and violations.
type CheckSummary struct {
	Check       string `json:"check"`
	Severity    string `json:"severity"`
	Evaluated   int    `json:"evaluated"`
	Violations  int    `json:"violations"`
	Description string `json:"description"`
}

// TenantResult is the outcome for one tenant.
type TenantResult struct {
	Tenant     string `json:"tenant"`
	ID         string `json:"id"`
	Server     string `json:"server"`
	State      string `json:"state"`
	Checks     int    `json:"checks"`
	Violations int    `json:"violations"`
	// Probes counts the login attempts made with the tenant's credentials.
	Probes int  `json:"probes"`
	Passed bool `json:"passed"`
}

// ServerResult describes one server as the audit saw it.
type ServerResult struct {
	Name      string `json:"name"`
	Reachable bool   `json:"reachable"`
	Tenants   int    `json:"tenants"`
	Databases int    `json:"databases"`
	Roles     int    `json:"roles"`
	// Superusers bypass every privilege check: they are the server's operators, listed
	// as evidence of who else can read everything.
	Superusers []string `json:"superusers"`
	// Queries is the number of catalog queries the server-wide checks took (a
	// constant), not counting the one query per tenant database.
	Queries int    `json:"queries"`
	Error   string `json:"error,omitempty"`
}

// ProbeSummary describes the live probes.
type ProbeSummary struct {
	Enabled bool `json:"enabled"`
	// Tenants is the number of tenants whose credentials were used.
	Tenants int `json:"tenants"`
	// Skipped counts tenants not probed (not active, or no credential).
	Skipped   int `json:"skipped"`
	Attempts  int `json:"attempts"`
	Connected int `json:"connected"`
	Refused   int `json:"refused"`
	// Inconclusive attempts proved nothing (unreachable, no slot): reported as
	// violations.
	Inconclusive int `json:"inconclusive"`
	// Neighbours and Sample are the limits used: same-server neighbours per tenant
	// (-1: all) and other-server databases per tenant.
	Neighbours int `json:"neighbours"`
	Sample     int `json:"sample"`
	// Sampled is true when some tenant was not probed against all its neighbours.
	Sampled bool `json:"sampled"`
}

// Changes compare a run with the previous recorded run of the same scope.
type Changes struct {
	PreviousRun int64       `json:"previous_run"`
	New         []Violation `json:"new"`
	Resolved    []Violation `json:"resolved"`
}

// Empty reports whether nothing changed.
func (c *Changes) Empty() bool { return c == nil || len(c.New) == 0 && len(c.Resolved) == 0 }

// JSON returns the report as indented JSON with a trailing newline: exactly what
// `tenantctl audit -o json` prints and what [Report.SHA256] is computed over.
func (r Report) JSON() ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(r); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// Err returns a [*ViolationsError] when the run found violations, else nil.
func (r Report) Err() error {
	if r.Passed {
		return nil
	}
	e := &ViolationsError{Violations: len(r.Violations)}
	for _, v := range r.Violations {
		if v.Severity == Critical {
			e.Critical++
		}
	}
	return e
}

// SeverityCounts returns the number of violations by severity.
func (r Report) SeverityCounts() map[string]int {
	out := map[string]int{}
	for _, v := range r.Violations {
		out[v.Severity]++
	}
	return out
}

// seal computes the report's hash over its JSON form.
func (r *Report) seal() ([]byte, error) {
	b, err := r.JSON()
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(b)
	r.SHA256 = hex.EncodeToString(sum[:])
	return b, nil
}

// diff compares violations with a previous run's.
func diff(prevID int64, prev, cur []Violation) *Changes {
	c := &Changes{PreviousRun: prevID, New: []Violation{}, Resolved: []Violation{}}
	had := map[string]bool{}
	for _, v := range prev {
		had[v.key()] = true
	}
	has := map[string]bool{}
	for _, v := range cur {
		has[v.key()] = true
		if !had[v.key()] {
			c.New = append(c.New, v)
		}
	}
	for _, v := range prev {
		if !has[v.key()] {
			c.Resolved = append(c.Resolved, v)
		}
	}
	slices.SortFunc(c.New, compareViolations)
	slices.SortFunc(c.Resolved, compareViolations)
	return c
}

// Counts are what a job run records for this report: violations (the scheduler's
// metric), tenants and checks.
func (r Report) Counts() map[string]int64 {
	return map[string]int64{"violations": int64(len(r.Violations)), "tenants": int64(r.Tenants), "checks": int64(r.Checks)}
}
