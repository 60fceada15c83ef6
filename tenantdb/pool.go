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
}

// admin acquires an admin connection to the maintenance database "postgres".
func (s *Server) admin(ctx context.Context) (*pgx.Conn, func(), error) {
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
	if s.pool.pool != nil {
		s.pool.pool.Close()
	}
	s.pool = &adminPool{}
}

// Warm opens one admin connection ahead of need (and keeps it in the pool), so a caller
// can overlap the login with other work.
func (s *Server) Warm(ctx context.Context) error {
	_, release, err := s.admin(ctx)
	if err != nil {
		return err
	}
	release()
	return nil
}
