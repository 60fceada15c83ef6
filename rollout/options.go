package rollout

import (
	"context"
	"fmt"
	"io/fs"
	"math"
	"time"

	"github.com/tenantctl/tenantctl/catalog"
	"github.com/tenantctl/tenantctl/fleet"
	"github.com/tenantctl/tenantctl/internal/validate"
	"github.com/tenantctl/tenantctl/migrations"
	"github.com/tenantctl/tenantctl/tenantdb"
)

// Defaults of [Options]; the CLI's flags use the same.
const (
	// DefaultConcurrency bounds the tenants migrated at once across the fleet.
	DefaultConcurrency = 8
	// DefaultPerServer bounds the tenants migrated at once on one server, however many
	// it holds: DDL on many databases of one server at once competes for its disks and
	// checkpoints.
	DefaultPerServer = 3
	// DefaultCanary is the size of the first wave.
	DefaultCanary = 3
	// DefaultMaxFailures stops new work after this many failures.
	DefaultMaxFailures = 5
	// DefaultLockTimeout bounds the wait for a table lock inside a tenant database, so
	// a customer's long transaction fails that tenant instead of stalling the fleet.
	DefaultLockTimeout = 5 * time.Second
	// DefaultStatementTimeout bounds every migration statement.
	DefaultStatementTimeout = 60 * time.Second
	// DefaultLockWait bounds the wait for goose's session advisory lock on a tenant
	// database (held by another migration of the same database).
	DefaultLockWait = 10 * time.Second
)

// Options describe a fleet migration run.
type Options struct {
	// Store is the open catalog (required; opened with the secret key, which unseals the
	// servers' admin DSNs).
	Store *catalog.Store
	// Servers is the server-handle cache to use (a runtime environment's, shared with
	// the rest of the process); nil: the run opens its own and closes it at the end.
	Servers *fleet.Servers
	// Migrations is the tenant migration set; nil means the embedded default schema.
	Migrations fs.FS
	// Options are the fleet knobs. Tenant, when set, migrates only the tenant with this
	// slug (no waves, and its database is always read, whatever the catalog says).
	// Concurrency bounds tenants migrated at once (0: DefaultConcurrency), PerServer
	// those on one server (0: DefaultPerServer). Progress, when set, is called once the
	// plan is known with the number of tenants to visit; the reporter it returns is told
	// about each one and closed at the end. Log receives a line per wave and template.
	fleet.Options
	// Canary is the size of the first wave, whose failure stops the run before the rest
	// starts (0: DefaultCanary, or no canary wave with ZeroIsNone; negative: no canary
	// wave).
	Canary int
	// MaxFailures stops starting new tenants after this many failures (0:
	// DefaultMaxFailures, or never stop with ZeroIsNone; negative: never stop).
	MaxFailures int
	// ZeroIsNone makes a Canary or MaxFailures of 0 mean none (no canary wave, never
	// stop) instead of the defaults: for callers that always give both, such as the
	// command line, whose defaults are the Default… values and whose 0 says none.
	ZeroIsNone bool
	// DryRun returns the plan and changes nothing.
	DryRun bool
	// Verify visits every tenant database, even those the catalog records as current
	// (by default those are trusted, which makes a no-op run cost no connection per
	// tenant).
	Verify bool
	// AllowChanged accepts migration files that changed or disappeared after they were
	// applied, recording their current content as the reference; without it such a set
	// is refused with a [ChangedError].
	AllowChanged bool
	// LockTimeout, StatementTimeout and LockWait bound each tenant's migration (0: the
	// Default… values).
	LockTimeout, StatementTimeout, LockWait time.Duration
}

// Validate checks the options and fills in defaults; it touches nothing.
func (o *Options) Validate() error {
	if o.Store == nil {
		return fmt.Errorf("rollout: no catalog store given")
	}
	if err := o.Prepare(fleet.Limits{Total: DefaultConcurrency, PerServer: DefaultPerServer}); err != nil {
		return err
	}
	switch {
	case o.Canary == 0 && o.ZeroIsNone:
		o.Canary = -1
	case o.Canary == 0:
		o.Canary = DefaultCanary
	}
	switch {
	case o.MaxFailures == 0 && o.ZeroIsNone:
		o.MaxFailures = -1
	case o.MaxFailures == 0:
		o.MaxFailures = DefaultMaxFailures
	}
	if err := o.timeouts(); err != nil {
		return err
	}
	if o.Migrations == nil {
		o.Migrations = migrations.Tenant()
	}
	return nil
}

// loadChecked validates o (filling in defaults), loads its migration set and checks the
// set against the hashes the catalog recorded: it returns the set and the changes
// accepted (see checkSet).
func (o *Options) loadChecked(ctx context.Context) (Set, []Change, error) {
	if err := o.Validate(); err != nil {
		return Set{}, nil, err
	}
	set, err := LoadSet(o.Migrations)
	if err != nil {
		return Set{}, nil, err
	}
	changes, err := checkSet(ctx, o.Store, set, o.AllowChanged)
	return set, changes, err
}

func (o *Options) timeouts() error {
	for _, d := range []struct {
		name string
		v    *time.Duration
		def  time.Duration
	}{
		{"lock-timeout", &o.LockTimeout, DefaultLockTimeout},
		{"statement-timeout", &o.StatementTimeout, DefaultStatementTimeout},
		{"lock-wait", &o.LockWait, DefaultLockWait},
	} {
		if *d.v < 0 || (*d.v > 0 && *d.v < time.Millisecond) {
			return validate.Field(d.name, *d.v, "use a positive duration such as 5s")
		}
		if *d.v == 0 {
			*d.v = d.def
		}
	}
	return nil
}

// migrateOptions turns the timeouts into settings for the tenant's migration session.
func migrateOptions(lock, stmt, wait time.Duration) tenantdb.MigrateOptions {
	return tenantdb.MigrateOptions{
		LockTimeout:      fmt.Sprintf("%dms", lock.Milliseconds()),
		StatementTimeout: fmt.Sprintf("%dms", stmt.Milliseconds()),
		// goose retries its advisory lock once a second.
		LockWaitSeconds: uint64(math.Max(1, math.Ceil(wait.Seconds()))),
	}
}
