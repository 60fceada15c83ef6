package audit

import (
	"time"

	"github.com/tenantctl/tenantctl/catalog"
	"github.com/tenantctl/tenantctl/fleet"
	"github.com/tenantctl/tenantctl/internal/validate"
)

// Defaults for [Options].
const (
	DefaultConcurrency     = 8
	DefaultPerServer       = 4
	DefaultProbeNeighbours = 5
	DefaultProbeSample     = 2
	DefaultConnectTimeout  = 5 * time.Second
)

// Options configure [Run].
type Options struct {
	// Store is the open catalog (with its secret key: the audit reads server DSNs and
	// tenant credentials).
	Store *catalog.Store
	// Servers is the server-handle cache to read the servers' admin DSNs through (a
	// runtime environment's, shared with the rest of the process; the audit inspects with
	// read-only copies of its handles and leaves it open); nil: the run opens its own.
	Servers *fleet.Servers
	// Options are the fleet knobs. Tenant narrows the audit to one tenant (a slug); ""
	// audits the whole fleet, and a one-tenant audit skips the fleet-wide drift checks
	// (orphans). Concurrency bounds the connections open at once across the fleet
	// (default 8), PerServer those on one server (default 4). Progress is started with
	// the number of tenants audited and told about each one. Log receives debug lines.
	fleet.Options
	// NoProbes skips the live login probes.
	NoProbes bool
	// ProbeNeighbours is how many other tenant databases on its own server each
	// tenant is probed against (default 5; negative: all of them).
	ProbeNeighbours int
	// ProbeSample is how many tenant databases on other servers each tenant is probed
	// against (0: default 2, or none with ZeroIsNone; negative: none).
	ProbeSample int
	// ZeroIsNone makes a ProbeSample of 0 mean none instead of the default: for callers
	// that always give it, such as the command line, whose default is
	// DefaultProbeSample and whose 0 says none.
	ZeroIsNone bool
	// ConnectTimeout bounds every connection attempt (default 5s).
	ConnectTimeout time.Duration
	// Seed makes the probe sample reproducible (0: random).
	Seed uint64
	// NoHistory leaves the run out of the catalog's audit history.
	NoHistory bool
	// Node names the machine the run is recorded for (default: "unknown").
	Node string
}

// Validate checks the options and fills in defaults.
func (o *Options) Validate() error {
	if o.Store == nil {
		return validate.Errorf("audit: no catalog")
	}
	if err := o.Prepare(fleet.Limits{Total: DefaultConcurrency, PerServer: DefaultPerServer}); err != nil {
		return err
	}
	if o.ProbeNeighbours == 0 {
		o.ProbeNeighbours = DefaultProbeNeighbours
	}
	if o.ProbeSample == 0 && !o.ZeroIsNone {
		o.ProbeSample = DefaultProbeSample
	}
	if o.ConnectTimeout <= 0 {
		o.ConnectTimeout = DefaultConnectTimeout
	}
	if o.Node == "" {
		o.Node = "unknown"
	}
	return nil
}
