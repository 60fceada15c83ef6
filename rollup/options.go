package rollup

import (
	"github.com/tenantctl/tenantctl/catalog"
	"github.com/tenantctl/tenantctl/fleet"
	"github.com/tenantctl/tenantctl/internal/validate"
)

// Defaults for [Options].
const (
	DefaultConcurrency = 4
	DefaultPerServer   = 2
)

// Options configure [Run].
type Options struct {
	// Store is the open catalog: tenants, servers and the warehouse's DSN.
	Store *catalog.Store
	// Servers, when not nil, are the server handles the run reads tenant databases
	// through: a process's shared cache (see package fleetenv), left open at the end.
	// nil: the run opens its own and closes them when it ends.
	Servers *fleet.Servers
	// Warehouse, when not nil, is the pool the run writes the warehouse through: a
	// process's shared pool, left open at the end (made with Concurrency+1 connections
	// when the run is what makes it; a pool made smaller before makes workers wait for
	// a free connection). nil: the run opens a pool of its own of Concurrency+1
	// connections and closes it when it ends.
	Warehouse *fleet.Warehouse
	// Spec lists the tables to copy; see [LoadSpec].
	Spec Spec
	// Options are the fleet knobs: Tenant limits the run to one tenant (empty: every
	// active or suspended tenant); Concurrency bounds the tenants copied at once (default
	// 4), which is also the number of warehouse connections the run holds; PerServer
	// bounds the tenants copied at once from one tenant server (default 2); Log receives
	// a line per table copied (debug) and warnings; Progress is told about each tenant.
	fleet.Options
	// Targets, when not nil, are the tenants to roll up (as [Targets] returns them), so a
	// caller that already listed them to size a progress bar does not list them twice.
	Targets []catalog.Tenant
	// Hooks let tests stop a run at chosen points, as a crash would.
	Hooks Hooks
}

// Hooks are called at points of a tenant's rollup; a non-nil error fails that tenant
// there (its warehouse transaction rolls back).
type Hooks struct {
	// AfterTable is called when a table's rows are written in the tenant's warehouse
	// transaction, before it commits.
	AfterTable func(tenantID, table string) error
	// BeforeCommit is called right before the tenant's warehouse transaction commits.
	BeforeCommit func(tenantID string) error
}

// Validate checks the options and fills in defaults.
func (o *Options) Validate() error {
	if o.Store == nil {
		return validate.Errorf("rollup: no catalog")
	}
	if len(o.Spec.Tables) == 0 {
		return validate.Errorf("rollup: the spec lists no tables")
	}
	return o.Prepare(fleet.Limits{Total: DefaultConcurrency, PerServer: DefaultPerServer})
}
