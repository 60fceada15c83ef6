package provisioner

import (
	"context"
	"math/rand/v2"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tenantctl/tenantctl/catalog"
	"github.com/tenantctl/tenantctl/secret"
	"github.com/tenantctl/tenantctl/tenantdb"
)

// spareConn is an admin connection to a spare's database opened ahead of its claim, so
// the login overlaps the catalog's claim (a new process) or is made between requests
// (a long-running serve, [Provisioner.KeepWarm]).
type spareConn struct {
	id   string
	done chan struct{}
	conn *pgx.Conn
	err  error
}

func connectSpareAhead(ctx context.Context, h *tenantdb.Server, id string) *spareConn {
	c := &spareConn{id: id, done: make(chan struct{})}
	go func() {
		defer close(c.done)
		c.conn, c.err = h.ConnectTenant(ctx, id)
	}()
	return c
}

// take returns the connection when it was opened to spare id's database (the caller
// closes it), else closes it and returns nil.
func (c *spareConn) take(id string) *pgx.Conn {
	if c == nil {
		return nil
	}
	<-c.done
	conn := c.conn
	c.conn = nil
	if conn != nil && (c.id != id || conn.IsClosed()) {
		_ = conn.Close(context.Background())
		conn = nil
	}
	return conn
}

// close closes the connection if nobody took it.
func (c *spareConn) close() {
	if c == nil {
		return
	}
	<-c.done
	if c.conn != nil {
		_ = c.conn.Close(context.Background())
		c.conn = nil
	}
}

// claimAhead returns the connection to the spare a claim on srv will most likely take:
// the one kept since the previous claim (KeepWarm), else a login started now to the
// spare the catalog named as next (srv.NextSpare); nil without either.
func (p *Provisioner) claimAhead(ctx context.Context, h *tenantdb.Server, srv catalog.Server) *spareConn {
	p.warmMu.Lock()
	c := p.spareAhead[srv.Name]
	delete(p.spareAhead, srv.Name)
	p.warmMu.Unlock()
	if c != nil {
		return c
	}
	if len(srv.NextSpares) == 0 {
		return nil
	}
	// One of the oldest few at random: creates started together log in to different
	// spares, and each claim prefers its own (a wrong guess costs a second login).
	return connectSpareAhead(ctx, h, srv.NextSpares[rand.IntN(len(srv.NextSpares))])
}

// prefer is the spare c was opened to ("" without one), for the claim to take.
func (c *spareConn) prefer() string {
	if c == nil {
		return ""
	}
	return c.id
}

// claimPasswords are a claim's app and owner passwords with their SCRAM verifiers.
type claimPasswords struct {
	app, owner string
	verifiers  tenantdb.ClaimPasswords
	err        error
}

func newClaimPasswordsFor(app, owner string) claimPasswords {
	v, err := tenantdb.PrepareClaimPasswords(app, owner)
	return claimPasswords{app: app, owner: owner, verifiers: v, err: err}
}

// takeClaimPasswords returns the passwords computed for the next claim (KeepWarm), or
// nil. Each set is handed to one claim only.
func (p *Provisioner) takeClaimPasswords() *claimPasswords {
	p.warmMu.Lock()
	defer p.warmMu.Unlock()
	next := p.nextPW
	p.nextPW = nil
	return next
}

// prepareClaimPasswords (KeepWarm only) computes the next claim's passwords and
// verifiers, unless a set is waiting already.
func (p *Provisioner) prepareClaimPasswords() {
	p.warmMu.Lock()
	have := p.nextPW != nil || p.warmClosed
	p.warmMu.Unlock()
	if have {
		return
	}
	next := newClaimPasswordsFor(secret.NewPassword(), secret.NewPassword())
	if next.err != nil {
		return
	}
	p.warmMu.Lock()
	defer p.warmMu.Unlock()
	if p.nextPW == nil && !p.warmClosed {
		p.nextPW = &next
	}
}

// prepareNextClaim (KeepWarm only) opens, in the background, a connection to the spare
// the next claim on server will take: the login is made between requests, not during
// one. The next create's locks reuse this one's lock connection (keepLockConn).
func (p *Provisioner) prepareNextClaim(server string) {
	if !p.KeepWarm {
		return
	}
	go func() {
		p.prepareClaimPasswords()
		ctx := p.warmCtx()
		srv, err := p.Store.GetServer(ctx, server)
		if err != nil || len(srv.NextSpares) == 0 {
			return
		}
		h, err := p.Server(ctx, server)
		if err != nil {
			return
		}
		c := connectSpareAhead(ctx, h, srv.NextSpares[0])
		p.warmMu.Lock()
		if p.spareAhead == nil {
			p.spareAhead = map[string]*spareConn{}
		}
		old := p.spareAhead[server]
		p.spareAhead[server] = c
		if p.warmClosed {
			// Closed while this one connected: it is kept by nobody.
			delete(p.spareAhead, server)
			p.warmMu.Unlock()
			old.close()
			c.close()
			return
		}
		p.warmMu.Unlock()
		old.close()
	}()
}

// WarmClaims (KeepWarm only) prepares the first claim on every server with spares
// ready, and the catalog connection of the first create: for `tenantctl serve`, so
// that its first POST /api/v1/tenants finds its logins made.
func (p *Provisioner) WarmClaims(ctx context.Context) {
	if !p.KeepWarm {
		return
	}
	p.keepCatalogConn()
	go p.prepareClaimPasswords()
	servers, err := p.Store.ListServers(ctx)
	if err != nil {
		return
	}
	for _, s := range servers {
		if len(s.NextSpares) > 0 {
			p.prepareNextClaim(s.Name)
		}
	}
}

// catalogConnAhead returns a catalog connection outside the pool for a create's locks:
// with KeepWarm, the one opened after the previous create (and another is started for
// the next); else a login started now.
// kept reports the former: a connection opened a while ago, which the caller replaces
// with a new login if it turns out broken.
func (p *Provisioner) catalogConnAhead(ctx context.Context) (c *catalog.ConnAhead, kept bool) {
	if !p.KeepWarm {
		return p.Store.ConnectAhead(ctx), false
	}
	p.warmMu.Lock()
	c = p.catalogAhead
	p.catalogAhead = nil
	p.warmMu.Unlock()
	// The next one is opened after this create's claim (prepareNextClaim), not now:
	// its login would compete with this request for the CPU.
	if c == nil {
		return p.Store.ConnectAhead(ctx), false
	}
	return c, true
}

// keepLockConn releases every lock a create held on conn, a catalog connection of its
// own (unless released says they were), and keeps it for the next create's locks
// (KeepWarm). It reports false, having kept nothing, when the connection is not idle
// and sound or one is kept already; the caller then closes it, which ends its locks
// too.
func (p *Provisioner) keepLockConn(conn *pgx.Conn, released bool) bool {
	if conn.IsClosed() || conn.PgConn().TxStatus() != 'I' {
		return false
	}
	p.warmMu.Lock()
	full := p.catalogAhead != nil || p.warmClosed
	p.warmMu.Unlock()
	if full {
		return false
	}
	if !released {
		ctx, cancel := context.WithTimeout(p.warmCtx(), 5*time.Second)
		defer cancel()
		if _, err := conn.Exec(ctx, `SELECT pg_advisory_unlock_all()`); err != nil {
			return false
		}
	}
	p.warmMu.Lock()
	defer p.warmMu.Unlock()
	if p.catalogAhead != nil || p.warmClosed {
		return false
	}
	p.catalogAhead = catalog.ConnReady(conn)
	return true
}

func (p *Provisioner) keepCatalogConn() {
	p.warmMu.Lock()
	defer p.warmMu.Unlock()
	if p.catalogAhead == nil && !p.warmClosed {
		p.catalogAhead = p.Store.ConnectAhead(p.warmCtx())
	}
}

// warmCtx is the context of the logins made ahead: they outlive the request that
// started them, and end with the provisioner.
func (p *Provisioner) warmCtx() context.Context { return context.Background() }

// closeWarm closes the connections kept ahead.
func (p *Provisioner) closeWarm() {
	p.warmMu.Lock()
	p.warmClosed = true
	conns := p.spareAhead
	p.spareAhead = nil
	cat := p.catalogAhead
	p.catalogAhead = nil
	p.nextPW = nil
	p.warmMu.Unlock()
	for _, c := range conns {
		c.close()
	}
	cat.Close()
}
