package fleet

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/tenantctl/tenantctl/catalog"
	"github.com/tenantctl/tenantctl/tenantdb"
)

// Servers opens each registered server's admin handle once (its DSN is unsealed from
// the catalog) and shares it between the goroutines of a run. A handle holds no
// connection until used; [Servers.Close] closes the connections the handles opened.
// The zero value is not usable: call [NewServers].
type Servers struct {
	store *catalog.Store
	mu    sync.Mutex
	by    map[string]*tenantdb.Server
}

// NewServers returns an empty cache over the catalog.
func NewServers(store *catalog.Store) *Servers {
	return &Servers{store: store, by: map[string]*tenantdb.Server{}}
}

// Get returns the handle on the named server, opening it on first use. An unknown
// server is [catalog.ErrServerNotFound].
func (s *Servers) Get(ctx context.Context, name string) (*tenantdb.Server, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if srv, ok := s.by[name]; ok {
		return srv, nil
	}
	rec, err := s.store.GetServer(ctx, name)
	if err != nil {
		return nil, err
	}
	return s.open(ctx, rec)
}

// Open returns the handle on a server the caller already read from the catalog,
// opening it on first use.
func (s *Servers) Open(ctx context.Context, rec catalog.Server) (*tenantdb.Server, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if srv, ok := s.by[rec.Name]; ok {
		return srv, nil
	}
	return s.open(ctx, rec)
}

func (s *Servers) open(ctx context.Context, rec catalog.Server) (*tenantdb.Server, error) {
	dsn, err := s.store.ServerDSN(ctx, rec.Name)
	if err != nil {
		return nil, err
	}
	srv, err := tenantdb.NewServer(rec.Name, dsn, rec.VersionNum, rec.CloneStrategy)
	if err != nil {
		return nil, fmt.Errorf("server %q: %w", rec.Name, err)
	}
	// The owner logins' passwords, sealed in the catalog: what must be the owner for a
	// whole session (pg_dump, pg_restore, a baseline) logs in as the owner.
	store := s.store
	srv.OwnerPasswords = func(ctx context.Context, id string) (string, bool, error) {
		pw, err := store.Credential(ctx, id, catalog.OwnerCredential)
		if errors.Is(err, catalog.ErrNoCredential) {
			return "", false, nil
		}
		return pw, err == nil, err
	}
	s.by[rec.Name] = srv
	return srv, nil
}

// Close closes every handle's connections and empties the cache; it may be called more
// than once.
func (s *Servers) Close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, srv := range s.by {
		srv.Close()
	}
	s.by = map[string]*tenantdb.Server{}
}
