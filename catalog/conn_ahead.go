package catalog

import (
	"context"

	"github.com/jackc/pgx/v5"

	"github.com/tenantctl/tenantctl/internal/dbconn"
)

// ConnAhead is a catalog connection of its own (outside the store's pool) being opened
// in the background for a later use that holds it for a while (a tenant lock), so its
// login overlaps other work. Take it once, or Close it unused.
type ConnAhead struct {
	done chan struct{}
	conn *pgx.Conn
	err  error
	took bool
}

// ConnectAhead starts opening a catalog connection outside the pool. Being outside,
// it is always a new login that nothing else can take meanwhile: the statements that
// run while it connects use the pool's connection, and the work that follows finds
// that connection free.
func (s *Store) ConnectAhead(ctx context.Context) *ConnAhead {
	c := &ConnAhead{done: make(chan struct{})}
	cfg := s.pool.Config().ConnConfig.Copy()
	// Its few statements (advisory locks) run once each: one round trip, not a prepare
	// and then an execute.
	cfg.DefaultQueryExecMode = pgx.QueryExecModeExec
	go func() {
		defer close(c.done)
		c.conn, c.err = dbconn.ConnectConfig(ctx, cfg)
	}()
	return c
}

// Take waits for the connection; the caller closes it.
func (c *ConnAhead) Take() (*pgx.Conn, error) {
	<-c.done
	c.took = true
	return c.conn, c.err
}

// Close closes the connection if it was never taken.
func (c *ConnAhead) Close() {
	if c == nil {
		return
	}
	<-c.done
	if !c.took && c.conn != nil {
		c.took = true
		_ = c.conn.Close(context.Background())
	}
}

// ConnReady wraps a catalog connection already open (one a caller is done with) as a
// ConnAhead for the next use.
func ConnReady(conn *pgx.Conn) *ConnAhead {
	c := &ConnAhead{done: make(chan struct{}), conn: conn}
	close(c.done)
	return c
}
