package catalog

import (
	"context"

	"github.com/jackc/pgx/v5/pgxpool"
)

// ConnAhead is a catalog connection being opened in the background for a later use
// that holds it (a tenant lock), so its login overlaps other work. Take it once, or
// Close it to hand it back unused.
type ConnAhead struct {
	done chan struct{}
	conn *pgxpool.Conn
	err  error
	took bool
}

// AcquireAhead starts acquiring a catalog connection (a new login when none is idle).
// Unlike a warm-up that returns the connection to the pool, the connection is kept for
// the caller: a concurrent acquire cannot miss it and open a third one.
func (s *Store) AcquireAhead(ctx context.Context) *ConnAhead {
	c := &ConnAhead{done: make(chan struct{})}
	go func() {
		defer close(c.done)
		c.conn, c.err = s.pool.Acquire(ctx)
	}()
	return c
}

// Take waits for the connection; the caller releases it.
func (c *ConnAhead) Take() (*pgxpool.Conn, error) {
	<-c.done
	c.took = true
	return c.conn, c.err
}

// Close releases the connection if it was never taken.
func (c *ConnAhead) Close() {
	if c == nil {
		return
	}
	<-c.done
	if !c.took && c.conn != nil {
		c.took = true
		c.conn.Release()
	}
}
