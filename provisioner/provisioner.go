package provisioner

import (
	"context"
	"io/fs"
	"sync"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/hashicorp/go-hclog"

	"github.com/tenantctl/tenantctl/catalog"
	"github.com/tenantctl/tenantctl/fleet"
	"github.com/tenantctl/tenantctl/internal/dbconn"
	"github.com/tenantctl/tenantctl/migrations"
)

// Provisioner drives the lifecycle of servers, the warehouse and tenants.
type Provisioner struct {
	Store *catalog.Store
	Log   hclog.Logger
	// TenantMigrations is the tenant schema; nil means the embedded default.
	TenantMigrations fs.FS
	// Hooks lets tests stop a run between two steps, as a crash would.
	Hooks Hooks
	// KeepWarm is for a long-running process (tenantctl serve): after each claim of a
	// spare it opens, in the background, the connections the next create needs (the
	// next spare's database, a catalog connection for the create's locks), so a create
	// from the pool makes no login. Close closes them.
	KeepWarm bool

	mu        sync.Mutex
	servers   *fleet.Servers
	whMu      sync.Mutex // guards warehouse, held while it connects (p.mu is not)
	warehouse *pgxpool.Pool
	closed    bool // set by Close under whMu: a late background connect makes no pool

	warmMu       sync.Mutex // guards what KeepWarm keeps
	spareAhead   map[string]*spareConn
	catalogAhead *catalog.ConnAhead
	warmClosed   bool
}

// Close closes the connections the provisioner keeps to servers and the warehouse (not
// the catalog store, which the caller owns).
func (p *Provisioner) Close() {
	p.closeWarm()
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.servers != nil {
		p.servers.Close()
		p.servers = nil
	}
	p.whMu.Lock()
	defer p.whMu.Unlock()
	p.closed = true
	if p.warehouse != nil {
		p.warehouse.Close()
		p.warehouse = nil
	}
}

// warehousePool returns a small pool on the registered warehouse, or
// catalog.ErrNoWarehouse.
func (p *Provisioner) warehousePool(ctx context.Context) (*pgxpool.Pool, error) {
	p.whMu.Lock()
	defer p.whMu.Unlock()
	if p.warehouse != nil {
		return p.warehouse, nil
	}
	if p.closed {
		return nil, errClosed
	}
	dsn, err := p.Store.WarehouseDSN(ctx)
	if err != nil {
		return nil, err
	}
	pool, err := dbconn.Pool(ctx, dsn, 2)
	if err != nil {
		return nil, err
	}
	p.warehouse = pool
	return pool, nil
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

func (p *Provisioner) afterStep(step string) error {
	if p.Hooks.AfterStep != nil {
		return p.Hooks.AfterStep(step)
	}
	return nil
}
