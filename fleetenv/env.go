package fleetenv

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"sync"

	"github.com/hashicorp/go-hclog"

	"github.com/tenantctl/tenantctl/catalog"
	"github.com/tenantctl/tenantctl/fleet"
	"github.com/tenantctl/tenantctl/migrations"
	"github.com/tenantctl/tenantctl/mover"
	"github.com/tenantctl/tenantctl/provisioner"
	"github.com/tenantctl/tenantctl/report"
	"github.com/tenantctl/tenantctl/rollup"
)

// Options say how an [Env] is built.
type Options struct {
	// Open opens the catalog; [Env.Start] calls it. Store, when set instead, is a
	// catalog already open, which the environment owns from then on.
	Open  func(ctx context.Context) (*catalog.Store, error)
	Store *catalog.Store
	// TenantMigrations are the tenant schema's migrations (nil: the embedded ones).
	TenantMigrations fs.FS
	// RollupSpecPath and ReportSpecPath are the spec files ("": the embedded specs).
	RollupSpecPath, ReportSpecPath string
	// Node names this process in job history and audit runs ("": the host name).
	Node string
	// Log is the logger (nil: discarded).
	Log hclog.Logger
}

// ErrStarted is returned by [Env.Start] on an environment already started, and
// ErrStopped on one already stopped.
var (
	ErrStarted = errors.New("environment already started")
	ErrStopped = errors.New("environment already stopped")
)

// Env is a process's runtime environment. Its exported fields are set by
// [Env.Start] and read-only after; the environment owns them and closes them in
// [Env.Stop].
type Env struct {
	// Store is the catalog.
	Store *catalog.Store
	// Servers are the server handles and Warehouse the warehouse pool everything in
	// the process shares.
	Servers   *fleet.Servers
	Warehouse *fleet.Warehouse
	// Provisioner drives tenants and servers over the environment's store, handles,
	// pool and migrations.
	Provisioner *provisioner.Provisioner
	// Node names this process in job history and audit runs.
	Node string
	// Log is the environment's logger.
	Log hclog.Logger

	opts     Options
	mu       sync.Mutex
	started  bool
	stopped  bool
	stopOnce sync.Once
}

// New returns an environment, not yet started: it does no I/O.
func New(o Options) *Env {
	if o.Log == nil {
		o.Log = hclog.NewNullLogger()
	}
	if o.TenantMigrations == nil {
		o.TenantMigrations = migrations.Tenant()
	}
	if o.Node == "" {
		o.Node = Hostname()
	}
	return &Env{Node: o.Node, Log: o.Log, opts: o}
}

// Start opens the catalog and makes the caches over it. A failed Start leaves the
// environment unstarted, so it may be called again (the scheduler retries a catalog
// that is not up yet); ctx bounds the opening only.
func (e *Env) Start(ctx context.Context) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.stopped {
		return ErrStopped
	}
	if e.started {
		return ErrStarted
	}
	store := e.opts.Store
	if store == nil {
		if e.opts.Open == nil {
			return errors.New("environment has no catalog: give Options.Open or Options.Store")
		}
		var err error
		if store, err = e.opts.Open(ctx); err != nil {
			return err
		}
	}
	e.Store = store
	e.Servers = fleet.NewServers(store)
	e.Warehouse = fleet.NewWarehouse(store)
	e.Provisioner = provisioner.New(store, e.Log)
	e.Provisioner.TenantMigrations = e.opts.TenantMigrations
	e.Provisioner.Servers, e.Provisioner.Warehouse = e.Servers, e.Warehouse
	e.started = true
	return nil
}

// Stop closes the server handles, the warehouse pool and the catalog, once. Stopping
// twice, or stopping an environment never started, is safe.
func (e *Env) Stop() {
	e.stopOnce.Do(func() {
		e.mu.Lock()
		defer e.mu.Unlock()
		e.stopped = true
		if !e.started {
			return
		}
		// The provisioner's own connections (what KeepWarm keeps open), then the handles
		// and the pool: they were opened with DSNs read from the store.
		e.Provisioner.Close()
		e.Servers.Close()
		e.Warehouse.Close()
		e.Store.Close()
	})
}

// Migrations are the tenant schema's migrations.
func (e *Env) Migrations() fs.FS {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.opts.TenantMigrations
}

// UseMigrations replaces the tenant migrations, for the provisioner too: the demo
// writes operator migrations half-way through its run.
func (e *Env) UseMigrations(fsys fs.FS) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.opts.TenantMigrations = fsys
	if e.Provisioner != nil {
		e.Provisioner.TenantMigrations = fsys
	}
}

// RollupSpec reads the rollup spec (the file at each call, so an edit is picked up).
func (e *Env) RollupSpec() (rollup.Spec, error) { return rollup.LoadSpec(e.opts.RollupSpecPath) }

// ReportSpec reads the per-customer report spec (the file at each call).
func (e *Env) ReportSpec() (*report.Spec, error) { return report.LoadSpec(e.opts.ReportSpecPath) }

// Mover returns a mover over the environment's provisioner.
func (e *Env) Mover() *mover.Mover { return mover.New(e.Provisioner, e.Log) }

// Hostname is this host's name, the default node ("unknown" when unknown).
func Hostname() string {
	h, err := os.Hostname()
	if err != nil {
		return "unknown"
	}
	return h
}
