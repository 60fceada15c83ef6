package rollout

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/tenantctl/tenantctl/catalog"
	"github.com/tenantctl/tenantctl/internal/pglock"
	"github.com/tenantctl/tenantctl/tenantdb"
)

// servers opens each server's admin handle once per run (its DSN is unsealed from the
// catalog); a handle holds no connection.
type servers struct {
	store *catalog.Store
	mu    sync.Mutex
	by    map[string]*tenantdb.Server
}

func newServers(store *catalog.Store) *servers {
	return &servers{store: store, by: map[string]*tenantdb.Server{}}
}

func (s *servers) get(ctx context.Context, name string) (*tenantdb.Server, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if srv, ok := s.by[name]; ok {
		return srv, nil
	}
	info, err := s.store.GetServer(ctx, name)
	if err != nil {
		return nil, err
	}
	dsn, err := s.store.ServerDSN(ctx, name)
	if err != nil {
		return nil, err
	}
	srv, err := tenantdb.NewServer(info.Name, dsn, info.VersionNum, info.CloneStrategy)
	if err != nil {
		return nil, fmt.Errorf("server %q: %w", name, err)
	}
	s.by[name] = srv
	return srv, nil
}

// close closes the admin connections the handles opened (templates use a small pool
// per server).
func (s *servers) close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, srv := range s.by {
		srv.Close()
	}
	s.by = map[string]*tenantdb.Server{}
}

// fleetLock takes the catalog's fleet-migration lock (a session advisory lock held on a
// dedicated catalog connection), so two fleet runs — an operator's and the scheduler's —
// never overlap. It returns [ErrBusy] at once when another run holds it. A process that
// dies loses the lock with its connection.
func fleetLock(ctx context.Context, pool *pgxpool.Pool) (unlock func(), err error) {
	unlock, err = pglock.TryAcquire(ctx, pool, "rollout:fleet")
	if errors.Is(err, pglock.ErrHeld) {
		return nil, ErrBusy
	}
	return unlock, err
}
