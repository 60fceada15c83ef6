package provisioner

import (
	"context"
	"io/fs"
	"sync"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/hashicorp/go-hclog"

	"github.com/tenantctl/tenantctl/catalog"
	"github.com/tenantctl/tenantctl/fleet"
	"github.com/tenantctl/tenantctl/internal/fault"
	"github.com/tenantctl/tenantctl/migrations"
)

// Provisioner drives the lifecycle of servers, the warehouse and tenants.
type Provisioner struct {
	Store *catalog.Store
	Log   hclog.Logger
	// TenantMigrations is the tenant schema; nil means the embedded default.
	TenantMigrations fs.FS
	// Servers and Warehouse are the server-handle cache and the warehouse pool the
	// provisioner shares with the rest of its process (a fleetenv.Env gives both and
	// closes them). Nil: the provisioner makes its own on first use, and Close closes
	// them.
	Servers   *fleet.Servers
	Warehouse *fleet.Warehouse
	// Hooks lets tests stop a run between two steps, as a crash would.
	Hooks Hooks
	// KeepWarm is for a long-running process (tenantctl serve): after each claim of a
	// spare it opens, in the background, the connection the next create needs to the
	// next spare's database and computes the next claim's passwords and their SCRAM
	// verifiers, and it keeps a create's catalog connection for the next create's
	// locks, so a create from the pool makes no login and hashes nothing. Close closes
	// them.
	KeepWarm bool

	mu                       sync.Mutex
	ownServers, ownWarehouse bool // made here: Close closes them

	warmMu       sync.Mutex              // guards what KeepWarm keeps
	spareAhead   map[string][]*spareConn // per server, oldest first, up to warmDepth
	catalogAhead *catalog.ConnAhead
	nextPW       []*claimPasswords // the next claims', each taken by one claim only
	warmClosed   bool
}

// Close closes the server handles and the warehouse pool the provisioner made itself;
// those it was given belong to whoever gave them (not the catalog store either, which
// the caller owns).
func (p *Provisioner) Close() {
	p.closeWarm()
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ownServers {
		p.Servers.Close()
	}
	if p.ownWarehouse {
		p.Warehouse.Close()
	}
}

// caches returns the server-handle cache and the warehouse pool, making both on first
// use when none were given.
func (p *Provisioner) caches() (*fleet.Servers, *fleet.Warehouse) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.Servers == nil {
		p.Servers, p.ownServers = fleet.NewServers(p.Store), true
	}
	if p.Warehouse == nil {
		p.Warehouse, p.ownWarehouse = fleet.NewWarehouse(p.Store), true
	}
	return p.Servers, p.Warehouse
}

// warehousePool returns the pool on the registered warehouse, or
// catalog.ErrNoWarehouse.
func (p *Provisioner) warehousePool(ctx context.Context) (*pgxpool.Pool, error) {
	_, wh := p.caches()
	return wh.Pool(ctx)
}

// Hooks are called between provisioning steps; a non-nil error aborts the run there.
type Hooks struct {
	AfterStep func(step string) error
	// BeforeClone is called before each clone of a template (tests drop it there).
	BeforeClone func(template string)
}

// New returns a Provisioner over an open catalog.
func New(store *catalog.Store, log hclog.Logger) *Provisioner {
	if log == nil {
		log = hclog.NewNullLogger()
	}
	return &Provisioner{Store: store, Log: log}
}

// TenantFS is the tenant schema in use (the embedded default unless overridden).
func (p *Provisioner) TenantFS() fs.FS {
	if p.TenantMigrations != nil {
		return p.TenantMigrations
	}
	return migrations.Tenant()
}

// reached marks a step reached: its kill point, then the test hook.
func (p *Provisioner) reached(fp *fault.Point, step string) error {
	fp.Hit()
	if p.Hooks.AfterStep != nil {
		return p.Hooks.AfterStep(step)
	}
	return nil
}
