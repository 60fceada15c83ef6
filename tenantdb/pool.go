package tenantdb

import (
	"context"
	"sync"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/tenantctl/tenantctl/internal/dbconn"
)

// adminPool holds a few admin connections to the server's maintenance database,
// opened on first use. A SCRAM login costs several milliseconds on each side, as much as
// cloning a database, so server-level statements share connections.
type adminPool struct {
	once sync.Once
	pool *pgxpool.Pool
	err  error

	mu sync.Mutex
	// warming is closed when the connection [Server.Warm] opens is in the pool.
	warming chan struct{}
}

// admin acquires an admin connection to the maintenance database "postgres". A login
// started by [Server.Warm] is waited for rather than duplicated.
func (s *Server) admin(ctx context.Context) (*pgx.Conn, func(), error) {
	s.pool.mu.Lock()
	warming := s.pool.warming
	s.pool.mu.Unlock()
	if warming != nil {
		select {
		case <-warming:
		case <-ctx.Done():
			return nil, nil, ctx.Err()
		}
	}
	return s.acquire(ctx)
}

func (s *Server) acquire(ctx context.Context) (*pgx.Conn, func(), error) {
	s.pool.once.Do(func() {
		cfg, err := pgxpool.ParseConfig("")
		if err != nil {
			s.pool.err = err
			return
		}
		cfg.ConnConfig = s.ConnConfig("postgres")
		cfg.MaxConns = 4
		cfg.MinConns = 0
		s.pool.pool, s.pool.err = pgxpool.NewWithConfig(context.WithoutCancel(ctx), cfg)
	})
	if s.pool.err != nil {
		return nil, nil, s.pool.err
	}
	c, err := s.pool.pool.Acquire(ctx)
	if err != nil {
		return nil, nil, dbconn.ConnectError(s.cfg.Host, s.cfg.Port, "postgres", err)
	}
	return c.Conn(), c.Release, nil
}

// Close closes the server's pooled admin connections. The Server stays usable: the
// next call opens new ones.
func (s *Server) Close() {
	s.pool.mu.Lock()
	warming := s.pool.warming
	s.pool.mu.Unlock()
	if warming != nil {
		<-warming // the warming login uses the pool being closed
	}
	if s.pool.pool != nil {
		s.pool.pool.Close()
	}
	s.pool = &adminPool{}
}

// Warm starts opening one admin connection in the background (it stays in the pool), so
// the login overlaps the caller's other work; the first admin statement waits for it
// instead of logging in a second time. Warming twice is harmless.
func (s *Server) Warm(ctx context.Context) {
	s.pool.mu.Lock()
	defer s.pool.mu.Unlock()
	if s.pool.warming != nil {
		return
	}
	done := make(chan struct{})
	s.pool.warming = done
	go func() {
		defer close(done)
		if _, release, err := s.acquire(ctx); err == nil {
			release()
		}
	}()
}
