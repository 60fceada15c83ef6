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
	// Set by begin: the claim's server change, made on conn inside a transaction left
	// open while the catalog claims (closed when it is done, act what it sent).
	begun    chan struct{}
	act      tenantdb.ClaimActivation
	beginErr error
	cancel   context.CancelFunc
}

func connectSpareAhead(ctx context.Context, h *tenantdb.Server, id string) *spareConn {
	c := &spareConn{id: id, done: make(chan struct{})}
	go func() {
		defer close(c.done)
		c.conn, c.err = h.ConnectTenant(ctx, id)
	}()
	return c
}

// begin makes, in the background once the connection is open, the claim's server
// change that prepare returns for this spare, inside a transaction left open
// ([tenantdb.Server.BeginClaim]): the server's work overlaps the catalog's claim, and
// only a claim of this very spare commits it ([spareConn.take]). Anything else closes
// the connection, which rolls it back; so does a kill.
func (c *spareConn) begin(ctx context.Context, h *tenantdb.Server, prepare func(id string) (tenantdb.ClaimActivation, error)) {
	if c == nil {
		return
	}
	ctx, c.cancel = context.WithCancel(ctx)
	c.begun = make(chan struct{})
	go func() {
		defer close(c.begun)
		<-c.done
		if c.conn == nil {
			c.beginErr = c.err
			return
		}
		a, err := prepare(c.id)
		if err == nil {
			err = h.BeginClaim(ctx, c.conn, a)
		}
		c.act, c.beginErr = a, err
	}()
}

// stop waits for what begin started: at once for a claim of another spare (the
// statement in flight is cancelled; it may be waiting for a concurrent claimer's locks
// on this spare), to its end when keep.
func (c *spareConn) stop(keep bool) {
	if c.begun == nil {
		return
	}
	if !keep {
		c.cancel()
	}
	<-c.begun
	c.cancel()
}

// take returns the connection when it was opened to spare id's database (the caller
// closes it), else closes it and returns nil. begun reports that the claim's server
// change is made on it, uncommitted (see begin), as *begun: the caller commits it. A
// change begin could not make leaves nothing to commit: the connection is closed (the
// server rolls back) and the caller activates on a new one.
func (c *spareConn) take(id string) (conn *pgx.Conn, begun *tenantdb.ClaimActivation) {
	if c == nil {
		return nil, nil
	}
	<-c.done
	c.stop(c.id == id)
	conn = c.conn
	c.conn = nil
	if conn != nil && (c.id != id || conn.IsClosed() || (c.begun != nil && c.beginErr != nil)) {
		_ = conn.Close(context.Background())
		conn = nil
	}
	if conn != nil && c.begun != nil {
		begun = &c.act
	}
	return conn, begun
}

// close closes the connection if nobody took it (an uncommitted change begin made on
// it is rolled back by the server).
func (c *spareConn) close() {
	if c == nil {
		return
	}
	<-c.done
	c.stop(false)
	if c.conn != nil {
		_ = c.conn.Close(context.Background())
		c.conn = nil
	}
}

// claimAhead returns the connection to the spare a claim on srv will most likely take:
// the one kept since the previous claim (KeepWarm), else a login started now to the
// spare the catalog named as next (srv.NextSpare); nil without either.
func (p *Provisioner) claimAhead(ctx context.Context, h *tenantdb.Server, srv catalog.Server) *spareConn {
	if c := p.takeSpareAhead(srv.Name); c != nil {
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

// claimStart is a claim's passwords and its server change started ahead of the
// catalog's claim on a login to the spare it prefers (see [spareConn.begin]).
type claimStart struct {
	server     string
	ahead      *spareConn
	app, owner string
	verified   chan struct{}
	v          claimPasswords
	// early: started by earlyClaim on the login kept for the next claim, which the
	// next create then lacks unless a claim made here opens another.
	early *Provisioner
}

// startClaim takes the claim's passwords (computed between requests with KeepWarm,
// else now in the background) and begins the server's change for a tenant of domain
// on ahead (nil: none), the login to the spare the claim will prefer.
func (p *Provisioner) startClaim(ctx context.Context, h *tenantdb.Server, ahead *spareConn, domain string) *claimStart {
	cs := &claimStart{server: h.Name, ahead: ahead, verified: make(chan struct{})}
	if next := p.takeClaimPasswords(); next != nil {
		cs.app, cs.owner, cs.v = next.app, next.owner, *next
		close(cs.verified)
	} else {
		cs.app, cs.owner = secret.NewPassword(), secret.NewPassword()
		go func() {
			defer close(cs.verified)
			cs.v = newClaimPasswordsFor(cs.app, cs.owner)
		}()
	}
	ahead.begin(ctx, h, func(id string) (tenantdb.ClaimActivation, error) {
		v := cs.passwords()
		if v.err != nil {
			return tenantdb.ClaimActivation{}, v.err
		}
		return h.PrepareClaim(id, domain, v.verifiers)
	})
	return cs
}

// passwords waits for the claim's verifiers.
func (cs *claimStart) passwords() claimPasswords {
	<-cs.verified
	return cs.v
}

// take returns cs for a claim on server, else closes it and returns nil.
func (cs *claimStart) take(server string) *claimStart {
	if cs == nil || cs.server == server {
		if cs != nil {
			cs.early = nil
		}
		return cs
	}
	cs.close()
	return nil
}

// close closes what the claim did not take (see [spareConn.close]).
func (cs *claimStart) close() {
	if cs != nil {
		cs.ahead.close()
		if cs.early != nil {
			cs.early.prepareNextClaim(cs.server)
		}
	}
}

// earlyClaim (KeepWarm only) starts the claim of a create that names its server, on
// the login kept for that server since the previous claim, as soon as the request
// comes: the server's change is made while the catalog reads, locks and claims. nil
// when there is no such login.
func (p *Provisioner) earlyClaim(ctx context.Context, o CreateOptions) *claimStart {
	if !p.KeepWarm || o.Server == "" || o.SlowPath {
		return nil
	}
	c := p.takeSpareAhead(o.Server)
	if c == nil {
		return nil
	}
	h, err := p.Server(ctx, o.Server)
	if err != nil {
		c.close()
		return nil
	}
	cs := p.startClaim(ctx, h, c, o.Domain)
	cs.early = p
	return cs
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
	if len(p.nextPW) == 0 {
		return nil
	}
	next := p.nextPW[0]
	p.nextPW = p.nextPW[1:]
	return next
}

// warmDepth is how many claims ahead KeepWarm prepares on each server (logins to the
// next spares, and passwords): requests that come back to back each find the login
// and the verifiers of theirs made during the request before, not racing them.
const warmDepth = 2

// prepareClaimPasswords (KeepWarm only) computes the next claims' passwords and
// verifiers, up to warmDepth sets waiting.
func (p *Provisioner) prepareClaimPasswords() {
	for {
		p.warmMu.Lock()
		full := len(p.nextPW) >= warmDepth || p.warmClosed
		p.warmMu.Unlock()
		if full {
			return
		}
		next := newClaimPasswordsFor(secret.NewPassword(), secret.NewPassword())
		if next.err != nil {
			return
		}
		p.warmMu.Lock()
		if len(p.nextPW) >= warmDepth || p.warmClosed {
			p.warmMu.Unlock()
			return
		}
		p.nextPW = append(p.nextPW, &next)
		p.warmMu.Unlock()
	}
}

// takeSpareAhead returns the oldest login kept ahead to a spare of server (KeepWarm),
// or nil.
func (p *Provisioner) takeSpareAhead(server string) *spareConn {
	p.warmMu.Lock()
	defer p.warmMu.Unlock()
	q := p.spareAhead[server]
	if len(q) == 0 {
		return nil
	}
	c := q[0]
	p.spareAhead[server] = q[1:]
	return c
}

// prepareNextClaim (KeepWarm only) opens, in the background, connections to the
// spares the next claims on server will take, up to warmDepth kept: the logins are
// made between requests (each one during the request before the one that uses it),
// and the passwords computed meanwhile. The next create's locks reuse this one's lock
// connection (keepLockConn).
func (p *Provisioner) prepareNextClaim(server string) {
	if !p.KeepWarm {
		return
	}
	go p.prepareClaimPasswords()
	go func() {
		ctx := p.warmCtx()
		p.warmMu.Lock()
		kept := map[string]bool{}
		for _, c := range p.spareAhead[server] {
			kept[c.id] = true
		}
		p.warmMu.Unlock()
		if len(kept) >= warmDepth {
			return
		}
		srv, err := p.Store.GetServer(ctx, server)
		if err != nil || len(srv.NextSpares) == 0 {
			return
		}
		h, err := p.Server(ctx, server)
		if err != nil {
			return
		}
		// In random order among the oldest few, as a new process picks: concurrent
		// claimers (CLI creates, other serve replicas) rarely log in to the same spare.
		next := append([]string(nil), srv.NextSpares...)
		rand.Shuffle(len(next), func(i, j int) { next[i], next[j] = next[j], next[i] })
		for _, id := range next {
			if kept[id] {
				continue
			}
			p.warmMu.Lock()
			if p.warmClosed || len(p.spareAhead[server]) >= warmDepth {
				p.warmMu.Unlock()
				return
			}
			for _, c := range p.spareAhead[server] {
				if c.id == id {
					kept[id] = true
				}
			}
			if kept[id] {
				p.warmMu.Unlock()
				continue
			}
			c := connectSpareAhead(ctx, h, id)
			if p.spareAhead == nil {
				p.spareAhead = map[string][]*spareConn{}
			}
			p.spareAhead[server] = append(p.spareAhead[server], c)
			kept[id] = true
			p.warmMu.Unlock()
		}
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
	for _, q := range conns {
		for _, c := range q {
			c.close()
		}
	}
	cat.Close()
}
