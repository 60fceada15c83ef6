package fleet

import (
	"github.com/hashicorp/go-hclog"

	"github.com/tenantctl/tenantctl/internal/validate"
)

// Options are the knobs every fleet operation shares: which tenants, how many at once
// overall and on one server, where progress and log lines go. Rollout, rollup, audit,
// evacuation and reconcile embed them, so each knob is checked by one rule here.
//
// An operation fills its defaults with [Options.Defaults] and then checks the result
// with [Options.Validate]; the CLI, whose flags already carry the defaults, only
// validates, so a value the flags give is refused by the same rule the library uses.
type Options struct {
	// Tenant narrows the run to one tenant (a slug); "" means every tenant the
	// operation visits.
	Tenant string
	// Concurrency bounds the tenants (or servers) worked on at once across the fleet
	// (0: the operation's default).
	Concurrency int
	// PerServer bounds the tenants worked on at once on one server (0: the operation's
	// default).
	PerServer int
	// Progress is started with the number of tenants visited and told about each one
	// as it finishes (nil: nothing reported).
	Progress Progress
	// Log receives the operation's debug lines and warnings (nil: discarded).
	Log hclog.Logger
}

// Defaults fills the zero limits with d's and a nil Log with one that discards.
func (o *Options) Defaults(d Limits) {
	if o.Concurrency == 0 {
		o.Concurrency = d.Total
	}
	if o.PerServer == 0 {
		o.PerServer = d.PerServer
	}
	if o.Log == nil {
		o.Log = hclog.NewNullLogger()
	}
}

// Validate refuses a malformed tenant slug and limits below 1 with a
// [validate.FieldError] naming the option (tenant, concurrency, per-server); it changes
// nothing.
func (o *Options) Validate() error {
	if o.Tenant != "" {
		if err := validate.Slug(o.Tenant); err != nil {
			return err
		}
	}
	if o.Concurrency < 1 {
		return validate.Field("concurrency", o.Concurrency, "it must be at least 1")
	}
	if o.PerServer < 1 {
		return validate.Field("per-server", o.PerServer, "it must be at least 1")
	}
	return nil
}

// Prepare is [Options.Defaults] then [Options.Validate]: what an operation's own
// Validate calls first.
func (o *Options) Prepare(d Limits) error {
	o.Defaults(d)
	return o.Validate()
}

// Limits are the dispatch bounds the options give.
func (o *Options) Limits() Limits {
	return Limits{Total: o.Concurrency, PerServer: o.PerServer}
}
