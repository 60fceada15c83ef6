package fleet

import (
	"context"
	"errors"
	"sync"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/tenantctl/tenantctl/catalog"
	"github.com/tenantctl/tenantctl/internal/dbconn"
)

// WarehouseConns is the size of the one pool a process keeps on the warehouse: enough
// for the console's concurrent reads and the provisioner's dimension updates.
const WarehouseConns = 4

// ErrClosed is returned by [Warehouse.Pool] after [Warehouse.Close].
var ErrClosed = errors.New("warehouse pool closed")

// Warehouse opens one pool on the registered warehouse on first use (its DSN is
// unsealed from the catalog) and shares it between everything a process runs: the
// provisioner's dimension updates, the console's and the API's reads. The zero value
// is not usable: call [NewWarehouse].
type Warehouse struct {
	store *catalog.Store
	// mu guards pool and closed; it is held while connecting, so two first uses make
	// one pool.
	mu     sync.Mutex
	pool   *pgxpool.Pool
	closed bool
}

// NewWarehouse returns a warehouse pool over the catalog, not yet connected.
func NewWarehouse(store *catalog.Store) *Warehouse { return &Warehouse{store: store} }

// Pool returns the pool on the warehouse, connecting on first use. With no warehouse
// registered it returns [catalog.ErrNoWarehouse] (and tries again at the next call,
// since one may be registered meanwhile); after Close, [ErrClosed].
func (w *Warehouse) Pool(ctx context.Context) (*pgxpool.Pool, error) {
	return w.PoolWith(ctx, WarehouseConns)
}

// PoolWith is [Warehouse.Pool] for a caller that holds up to n connections at once (a
// rollup's workers): the call that makes the pool makes it with room for at least n
// (connections are opened when first needed). A pool already made keeps its size, and
// a caller holding more than it has waits for free ones.
func (w *Warehouse) PoolWith(ctx context.Context, n int) (*pgxpool.Pool, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.pool != nil {
		return w.pool, nil
	}
	if w.closed {
		return nil, ErrClosed
	}
	dsn, err := w.store.WarehouseDSN(ctx)
	if err != nil {
		return nil, err
	}
	pool, err := dbconn.Pool(ctx, dsn, int32(max(n, WarehouseConns)))
	if err != nil {
		return nil, err
	}
	w.pool = pool
	return pool, nil
}

// Warm connects in the background when the pool is not made and no one is making it,
// so a later [Warehouse.Pool] finds it ready; a failure is left for that call to meet.
func (w *Warehouse) Warm(ctx context.Context) {
	if !w.mu.TryLock() {
		return // connecting already
	}
	done := w.pool != nil || w.closed
	w.mu.Unlock()
	if done {
		return
	}
	go func() { _, _ = w.Pool(ctx) }()
}

// Close closes the pool; a connect still under way makes none. It may be called more
// than once.
func (w *Warehouse) Close() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.closed = true
	if w.pool != nil {
		w.pool.Close()
		w.pool = nil
	}
}
