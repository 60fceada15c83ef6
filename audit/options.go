package audit

import (
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/tenantctl/tenantctl/catalog"
	"github.com/tenantctl/tenantctl/internal/fleet"
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
	// Tenant narrows the audit to one tenant (a slug); "" audits the whole fleet.
	// A one-tenant audit skips the fleet-wide drift checks (orphans).
	Tenant string
	// NoProbes skips the live login probes.
	NoProbes bool
	// Concurrency bounds the connections open at once across the fleet (default 8).
	Concurrency int
	// PerServer bounds the connections open at once on one server (default 4).
	PerServer int
	// ProbeNeighbours is how many other tenant databases on its own server each
	// tenant is probed against (default 5; negative: all of them).
	ProbeNeighbours int
	// ProbeSample is how many tenant databases on other servers each tenant is probed
	// against (default 2; negative: none).
	ProbeSample int
	// ConnectTimeout bounds every connection attempt (default 5s).
	ConnectTimeout time.Duration
	// Seed makes the probe sample reproducible (0: random).
	Seed uint64
	// NoHistory leaves the run out of the catalog's audit history.
	NoHistory bool
	// Node names the machine the run is recorded for (default: "unknown").
	Node string
	// Progress is started with the number of tenants audited and told about each one
	// (nil: nothing reported).
	Progress fleet.Progress
	// Log receives debug lines (nil: discarded).
	Log hclog.Logger
}

// Validate checks the options and fills in defaults.
func (o *Options) Validate() error {
	if o.Store == nil {
		return validate.Errorf("audit: no catalog")
	}
	if o.Tenant != "" {
		if err := validate.Slug(o.Tenant); err != nil {
			return err
		}
	}
	if o.Concurrency < 0 || o.PerServer < 0 {
		return validate.Errorf("invalid concurrency: it must be at least 1")
	}
	if o.Concurrency == 0 {
		o.Concurrency = DefaultConcurrency
	}
	if o.PerServer == 0 {
		o.PerServer = DefaultPerServer
	}
	if o.ProbeNeighbours == 0 {
		o.ProbeNeighbours = DefaultProbeNeighbours
	}
	if o.ProbeSample == 0 {
		o.ProbeSample = DefaultProbeSample
	}
	if o.ConnectTimeout <= 0 {
		o.ConnectTimeout = DefaultConnectTimeout
	}
	if o.Node == "" {
		o.Node = "unknown"
	}
	if o.Log == nil {
		o.Log = hclog.NewNullLogger()
	}
	return nil
}
