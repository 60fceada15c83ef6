package fleetview

import (
	"context"
	"errors"
	"sync"

	"github.com/hashicorp/go-hclog"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/tenantctl/tenantctl/catalog"
	"github.com/tenantctl/tenantctl/internal/dbconn"
	"github.com/tenantctl/tenantctl/provisioner"
	"github.com/tenantctl/tenantctl/report"
)

// SpareCounter reports the ready spare databases each server keeps (the warm pool).
// Nil until a warm pool exists: the overview then omits spares.
type SpareCounter interface {
	Spares(ctx context.Context) (map[string]int, error)
}

// View reads the fleet for the console and the API.
type View struct {
	Store  *catalog.Store
	Prov   *provisioner.Provisioner
	Report *report.Spec
	Spares SpareCounter
	Log    hclog.Logger

	mu sync.Mutex
	wh *pgxpool.Pool
}

// New returns a View; spec nil means the embedded default report.
func New(p *provisioner.Provisioner, spec *report.Spec, log hclog.Logger) *View {
	if spec == nil {
		spec = report.DefaultSpec()
	}
	if log == nil {
		log = hclog.NewNullLogger()
	}
	return &View{Store: p.Store, Prov: p, Report: spec, Log: log}
}

// Close closes the warehouse pool.
func (v *View) Close() {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.wh != nil {
		v.wh.Close()
		v.wh = nil
	}
}

// Warehouse returns a pool on the warehouse, or nil when none is registered.
func (v *View) Warehouse(ctx context.Context) (*pgxpool.Pool, error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.wh != nil {
		return v.wh, nil
	}
	dsn, err := v.Store.WarehouseDSN(ctx)
	if errors.Is(err, catalog.ErrNoWarehouse) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	pool, err := dbconn.Pool(ctx, dsn, 4)
	if err != nil {
		return nil, err
	}
	v.wh = pool
	return pool, nil
}
