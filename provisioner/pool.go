package provisioner

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/jackc/pgerrcode"
	"github.com/jackc/pgx/v5"

	"github.com/tenantctl/tenantctl/catalog"
	"github.com/tenantctl/tenantctl/internal/dbconn"
	"github.com/tenantctl/tenantctl/internal/fault"
	"github.com/tenantctl/tenantctl/internal/pglock"
	"github.com/tenantctl/tenantctl/migrations"
	"github.com/tenantctl/tenantctl/secret"
	"github.com/tenantctl/tenantctl/tenantdb"
)

// StepClaimed is the step a tenant made from a spare is recorded at when the claim
// commits: its database and roles exist and are hardened; the app role still needs its
// password and LOGIN. A rerun or reconcile finishes from there.
const StepClaimed = "claimed"

// Steps of building a spare, passed to [Hooks.AfterStep] so crash tests can stop there.
const (
	SpareStepRecorded = "spare.recorded"
	SpareStepRoles    = "spare.roles"
	SpareStepDatabase = "spare.database"
	SpareStepHardened = "spare.hardened"
	SpareStepRetired  = "spare.retired"
	SpareStepDropped  = "spare.dropped"
)

// createFromSpare is the fast path of [Provisioner.Create]: claim a ready spare of the
// placed server in one catalog transaction (the tenant recorded under the spare's id,
// its sealed passwords with it), then one server round trip on a connection to the
// claimed database that was opened while the catalog claimed (or, in a long-running
// serve, before the request came): the customer's domain functions, the app and owner
// roles' passwords and LOGIN, in one transaction; then mark the tenant active. It
// returns catalog.ErrNoSpare, having changed nothing, when the server has no spare for
// the current migration set. The claiming command never refills the pool: reconcile
// and the scheduler do.
func (p *Provisioner) createFromSpare(ctx context.Context, srv catalog.Server, o CreateOptions, labels map[string]string, lk *slugLock, early *claimStart) (catalog.Tenant, error) {
	cs := early.take(srv.Name)
	defer func() {
		cs.close()
		// The next claim's logins, made between requests (KeepWarm only), whatever
		// became of this one.
		p.prepareNextClaim(srv.Name)
	}()
	h, err := p.Server(ctx, srv.Name)
	if err != nil {
		return catalog.Tenant{}, err
	}
	if srv.SparesReady == 0 {
		// The slow path follows: its first server statement finds the login made.
		h.Warm(ctx)
		return catalog.Tenant{}, catalog.ErrNoSpare
	}
	// Log in to the spare the claim will most likely take while the catalog claims it
	// (the login costs as much as the rest of a claim), and make the server's change
	// there, uncommitted: started by the create already when it named this server and
	// a login was kept (earlyClaim), else now.
	if cs == nil {
		cs = p.startClaim(ctx, h, p.claimAhead(ctx, h, srv), o.Domain)
	}
	ahead := cs.ahead
	password, ownerPassword := cs.app, cs.owner
	hash, err := migrations.Hash(p.TenantFS())
	if err != nil {
		return catalog.Tenant{}, err
	}
	t, err := p.Store.ClaimSpare(ctx, catalog.SpareClaim{
		Tenant: catalog.Tenant{Slug: o.Slug, Name: o.Name, Domain: o.Domain, ContactEmail: o.ContactEmail,
			Labels: labels, Server: srv.Name},
		Step: StepClaimed, TemplateHash: hash, Password: password, OwnerPassword: ownerPassword,
		Prefer: ahead.prefer(),
	})
	if err != nil {
		if errors.Is(err, catalog.ErrNoSpare) {
			h.Warm(ctx)
		}
		return t, err
	}
	p.Log.Info("provisioning tenant from a spare", "tenant", t.Slug, "id", t.ID, "server", srv.Name)
	if err := p.reached(fpClaimed, StepClaimed); err != nil {
		return t, err
	}
	v := cs.passwords()
	if v.err != nil {
		return t, p.createFailed(ctx, t, StepClaimed, v.err)
	}
	conn, begun := ahead.take(t.ID)
	active, err := p.activateClaimed(ctx, h, t, v.verifiers, conn, begun, lk)
	if err != nil {
		return t, p.createFailed(ctx, t, StepClaimed, err)
	}
	return active, nil
}

// activateClaimed turns a claimed spare into an active tenant: one server round trip
// on conn (an admin connection to the claimed database; nil: one is opened now) — the
// commit of begun when the change was made on conn already (see spareConn.begin) —, then
// the catalog record, made on the create's lock connection with the release of its
// locks in the same round trip (lk nil: on the pool's). An interrupted claim is
// finished by runCreateSteps from StepClaimed, which makes the same changes.
func (p *Provisioner) activateClaimed(ctx context.Context, h *tenantdb.Server, t catalog.Tenant, pw tenantdb.ClaimPasswords, conn *pgx.Conn, begun *tenantdb.ClaimActivation, lk *slugLock) (catalog.Tenant, error) {
	// No warehouse login here: the tenant has no rows to roll up yet, and the first
	// rollup that copies any records it in the warehouse's tenant dimension (every run
	// refreshes it). Under load a login is the dearest thing a claim could do.
	act, err := h.PrepareClaim(t.ID, t.Domain, pw)
	if err != nil {
		return t, err
	}
	if conn == nil {
		if conn, err = h.ConnectTenant(ctx, t.ID); err != nil {
			return t, err
		}
	}
	if begun != nil {
		// Made while the catalog claimed: committed now, the catalog's claim of this
		// spare being durable.
		if err = h.CommitClaim(ctx, conn, *begun); err != nil && !conn.IsClosed() && ctx.Err() == nil {
			// Not committed: made again (idempotent).
			err = h.ActivateClaim(ctx, conn, act)
		}
	} else {
		err = h.ActivateClaim(ctx, conn, act)
	}
	if err != nil && conn.IsClosed() && ctx.Err() == nil {
		// A connection opened ahead that the server ended meanwhile: once more on a new
		// one (the activation is idempotent).
		if conn, err = h.ConnectTenant(ctx, t.ID); err == nil {
			err = h.ActivateClaim(ctx, conn, act)
		}
	}
	if conn != nil {
		_ = conn.Close(context.WithoutCancel(ctx))
	}
	if err != nil {
		return t, err
	}
	// Both kill points are after the one transaction that made both changes.
	fpClaimDomain.Hit()
	fpClaimActivated.Hit()
	details := map[string]any{"server": t.Server, "schema_version": t.SchemaVersion, "spare": true}
	if lk == nil || lk.conn == nil {
		return p.Store.FinishClaim(ctx, t.ID, StepWarehouse, details)
	}
	active, released, err := p.Store.FinishClaimReleasing(ctx, lk.conn, t.ID, StepWarehouse, details)
	lk.released = released
	return active, err
}

// createFailed records a failed provisioning step the way finishCreate does.
func (p *Provisioner) createFailed(ctx context.Context, t catalog.Tenant, step string, err error) error {
	if errors.Is(err, errInjected) || ctx.Err() != nil {
		return err
	}
	msg := secret.Scrub(err.Error())
	failed := catalog.StateFailed
	if uerr := p.Store.UpdateTenant(context.WithoutCancel(ctx), t.ID, catalog.TenantUpdate{State: &failed, LastError: &msg,
		Event: &catalog.Event{Action: "tenant.create.failed", Slug: t.Slug, Details: map[string]any{"step": step, "error": msg}}}); uerr != nil {
		err = errors.Join(err, uerr)
	}
	return &UnfinishedError{Err: fmt.Errorf("provision tenant %q: %w", t.Slug, err), Rerun: true}
}

// PoolResult is what [Provisioner.RefillPool] did on one server.
type PoolResult struct {
	Server string `json:"server"`
	// Target is the number of spares the server should hold: its setting, within its
	// free capacity, 0 while draining.
	Target int `json:"target"`
	// Ready is the number of ready spares after the run.
	Ready int `json:"ready"`
	// Built counts new spares; Finished spares a killed run had left half-built;
	// Dropped spares removed (superseded template, above target, or half-dropped).
	Built    int    `json:"built"`
	Finished int    `json:"finished"`
	Dropped  int    `json:"dropped"`
	Skipped  string `json:"skipped,omitempty"`
	Error    string `json:"error,omitempty"`
}

// Changed reports whether the run changed anything on the server.
func (r PoolResult) Changed() bool { return r.Built+r.Finished+r.Dropped > 0 }

// RefillPool brings the warm pool of every server (or of the one named) to its target:
// it finishes or undoes what a killed refill left behind, replaces spares cloned from a
// superseded template, drops spares above the target and builds the missing ones. One
// refill runs per server at a time (a catalog advisory lock; a busy server is skipped).
// Servers are refilled concurrently. dryRun reports the plan without changing anything.
func (p *Provisioner) RefillPool(ctx context.Context, server string, dryRun bool) ([]PoolResult, error) {
	servers, err := p.Store.ListServers(ctx)
	if err != nil {
		return nil, err
	}
	hash, err := migrations.Hash(p.TenantFS())
	if err != nil {
		return nil, err
	}
	version, err := migrations.Latest(p.TenantFS())
	if err != nil {
		return nil, err
	}
	var out []PoolResult
	var mu sync.Mutex
	var errs []error
	var wg sync.WaitGroup
	sem := make(chan struct{}, 4)
	for _, s := range servers {
		if server != "" && s.Name != server {
			continue
		}
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			r, err := p.refillServer(ctx, s, hash, version, dryRun)
			if err != nil {
				r.Error = secret.Scrub(err.Error())
			}
			mu.Lock()
			defer mu.Unlock()
			out = append(out, r)
			if err != nil {
				errs = append(errs, fmt.Errorf("refill pool of %s: %w", s.Name, err))
			}
		})
	}
	wg.Wait()
	sortResults(out)
	return out, errors.Join(errs...)
}

func sortResults(rs []PoolResult) {
	for i := 1; i < len(rs); i++ {
		for j := i; j > 0 && rs[j].Server < rs[j-1].Server; j-- {
			rs[j], rs[j-1] = rs[j-1], rs[j]
		}
	}
}

// poolTarget is how many spares a server should hold.
func poolTarget(s catalog.Server) int {
	if s.Draining {
		return 0
	}
	return max(0, min(s.Spares, s.Free()))
}

// sortSpares sorts a server's spares by what a refill does with them, for the template
// hash: current (ready, on the template), stale (another template's, or building on
// one), dropping (retired, to drop) and building (to finish).
func sortSpares(spares []catalog.Spare, hash string) (current, stale, dropping, building []catalog.Spare) {
	for _, sp := range spares {
		switch {
		case sp.State == catalog.SpareDropping:
			dropping = append(dropping, sp)
		case sp.State == catalog.SpareBuilding && sp.TemplateHash == hash:
			building = append(building, sp)
		case sp.TemplateHash != hash || sp.State == catalog.SpareBuilding:
			stale = append(stale, sp)
		default:
			current = append(current, sp)
		}
	}
	return current, stale, dropping, building
}

func (p *Provisioner) refillServer(ctx context.Context, s catalog.Server, hash string, version int64, dryRun bool) (PoolResult, error) {
	r := PoolResult{Server: s.Name, Target: poolTarget(s)}
	spares, err := p.Store.ListSpares(ctx, s.Name)
	if err != nil {
		return r, err
	}
	current, stale, dropping, building := sortSpares(spares, hash)
	extra := max(0, len(current)+len(building)-r.Target)
	if dryRun {
		r.Ready = len(current)
		r.Dropped = len(dropping) + len(stale) + extra
		r.Finished = len(building)
		r.Built = max(0, r.Target-len(current)-len(building))
		return r, nil
	}
	if len(spares) == 0 && r.Target == 0 {
		return r, nil
	}
	unlock, err := pglock.TryAcquire(ctx, p.Store.Pool(), "pool:"+s.Name)
	if errors.Is(err, pglock.ErrHeld) {
		r.Skipped = "another refill of this server is running"
		r.Ready = len(current)
		return r, nil
	}
	if err != nil {
		return r, err
	}
	defer unlock()
	// Under the lock, re-read: what we saw may have been another refill's work.
	if spares, err = p.Store.ListSpares(ctx, s.Name); err != nil {
		return r, err
	}
	current, stale, dropping, building = sortSpares(spares, hash)
	h, err := p.Server(ctx, s.Name)
	if err != nil {
		return r, err
	}
	for _, sp := range dropping {
		if err := p.dropSpare(ctx, h, sp); err != nil {
			return r, err
		}
		r.Dropped++
	}
	for _, sp := range stale {
		if ok, err := p.Store.RetireSpare(ctx, sp.ID, sp.State); err != nil {
			return r, err
		} else if !ok {
			continue // claimed meanwhile
		}
		if err := p.dropSpare(ctx, h, sp); err != nil {
			return r, err
		}
		r.Dropped++
	}
	// Too many (the target went down): drop the newest ready ones first.
	for len(current)+len(building) > r.Target && len(current) > 0 {
		sp := current[len(current)-1]
		current = current[:len(current)-1]
		if ok, err := p.Store.RetireSpare(ctx, sp.ID, catalog.SpareReady); err != nil {
			return r, err
		} else if !ok {
			continue
		}
		if err := p.dropSpare(ctx, h, sp); err != nil {
			return r, err
		}
		r.Dropped++
	}
	ready := len(current)
	for _, sp := range building {
		if ready >= r.Target {
			if ok, err := p.Store.RetireSpare(ctx, sp.ID, catalog.SpareBuilding); err != nil {
				return r, err
			} else if ok {
				if err := p.dropSpare(ctx, h, sp); err != nil {
					return r, err
				}
				r.Dropped++
			}
			continue
		}
		if err := p.buildSpare(ctx, h, sp, true); err != nil {
			return r, err
		}
		r.Finished++
		ready++
	}
	for ready < r.Target {
		if err := ctx.Err(); err != nil {
			return r, err
		}
		sp := catalog.Spare{ID: tenantdb.NewID(), Server: s.Name, TemplateHash: hash, SchemaVersion: version}
		if err := p.buildSpare(ctx, h, sp, false); err != nil {
			r.Ready = ready
			return r, err
		}
		r.Built++
		ready++
	}
	r.Ready = ready
	if r.Changed() {
		p.Log.Info("warm pool refilled", "server", s.Name, "ready", r.Ready, "built", r.Built, "finished", r.Finished, "dropped", r.Dropped)
	}
	return r, nil
}

// buildSpare makes one spare: recorded first (unless resuming), then roles, the clone
// of the server's template, hardening, and the ready mark last. Every step is
// idempotent, so a spare left half-built by a kill is finished by running it again.
func (p *Provisioner) buildSpare(ctx context.Context, h *tenantdb.Server, sp catalog.Spare, resume bool) error {
	if !resume {
		if err := p.Store.InsertSpare(ctx, sp); err != nil {
			return err
		}
		if err := p.reached(fpSpareRecorded, SpareStepRecorded); err != nil {
			return err
		}
	}
	tmpl, err := p.ensureTemplate(ctx, h)
	if err != nil {
		return err
	}
	if tmpl.Hash != sp.TemplateHash {
		return fmt.Errorf("spare %s: the template on %s is for another migration set", sp.ID, h.Name)
	}
	if err := h.EnsureSpareRoles(ctx, sp.ID); err != nil {
		return err
	}
	if err := p.reached(fpSpareRoles, SpareStepRoles); err != nil {
		return err
	}
	_, conn, err := p.cloneTemplate(ctx, h, sp.ID, tmpl, true)
	if err != nil {
		return err
	}
	conn.Close(context.WithoutCancel(ctx))
	if err := p.reached(fpSpareDatabase, SpareStepDatabase); err != nil {
		return err
	}
	if err := h.Harden(ctx, sp.ID); err != nil {
		return err
	}
	if err := p.reached(fpSpareHardened, SpareStepHardened); err != nil {
		return err
	}
	return p.Store.MarkSpareReady(ctx, sp.ID)
}

// dropSpare removes a spare already retired (state dropping, or building under the
// pool lock): database, roles, then the catalog row. Idempotent.
func (p *Provisioner) dropSpare(ctx context.Context, h *tenantdb.Server, sp catalog.Spare) error {
	if err := p.reached(fpSpareRetired, SpareStepRetired); err != nil {
		return err
	}
	if err := dropDatabaseAndRoles(ctx, h, sp.ID, fpSpareDbDropped); err != nil {
		return err
	}
	if err := p.reached(fpSpareRolesDropped, SpareStepDropped); err != nil {
		return err
	}
	return p.Store.DeleteSpare(ctx, sp.ID)
}

// dropDatabaseAndRoles drops the database of tenant (or spare) id on h, then its roles
// (which the database's objects hold on to); afterDatabase is the kill point between.
func dropDatabaseAndRoles(ctx context.Context, h *tenantdb.Server, id string, afterDatabase *fault.Point) error {
	if err := h.DropDatabase(ctx, id); err != nil {
		return err
	}
	afterDatabase.Hit()
	return h.DropRoles(ctx, id)
}

// ensureTemplate returns the server's template for the current migration set, building
// it when missing, and keeps the catalog's record of it current, its fingerprint
// included. A template found with no fingerprint recorded (built before fingerprints, or
// by a run killed before recording it) cannot be verified: it is rebuilt.
func (p *Provisioner) ensureTemplate(ctx context.Context, h *tenantdb.Server) (tenantdb.Template, error) {
	tmpl, err := h.EnsureTemplate(ctx, p.TenantFS())
	if err != nil {
		return tmpl, err
	}
	if !tmpl.Built {
		if tmpl.Fingerprint, tmpl.CloneWitness, err = p.Store.TemplateRecord(ctx, h.Name, tmpl.Name); err != nil {
			return tmpl, err
		}
		if tmpl.Fingerprint == "" {
			p.Log.Warn("template has no recorded fingerprint; rebuilding it", "server", h.Name, "template", tmpl.Name)
			if err := h.DropTemplate(ctx, tmpl.Name); err != nil {
				return tmpl, err
			}
			if tmpl, err = h.EnsureTemplate(ctx, p.TenantFS()); err != nil {
				return tmpl, err
			}
		}
	}
	if tmpl.Built {
		p.Log.Info("template built", "server", h.Name, "template", tmpl.Name, "version", tmpl.Version)
		if err := p.Store.SetTemplateFingerprint(ctx, h.Name, tmpl.Name, tmpl.Fingerprint); err != nil {
			return tmpl, err
		}
	}
	if tmpl.Fingerprint == "" { // built by another process, which is recording it
		if tmpl.Fingerprint, err = p.Store.TemplateFingerprint(ctx, h.Name, tmpl.Name); err != nil {
			return tmpl, err
		}
	}
	rec, err := p.Store.GetServer(ctx, h.Name)
	if err != nil {
		return tmpl, err
	}
	if rec.TemplateHash != tmpl.Hash {
		if err := p.Store.SetTemplate(ctx, h.Name, tmpl.Name, tmpl.Hash, tmpl.Version); err != nil {
			return tmpl, err
		}
	}
	return tmpl, nil
}

// EmptyPool drops every spare of a server (before it is removed). Spares being claimed
// right now are left to their claimers.
func (p *Provisioner) EmptyPool(ctx context.Context, server string) error {
	spares, err := p.Store.ListSpares(ctx, server)
	if err != nil || len(spares) == 0 {
		return err
	}
	unlock, err := pglock.TryAcquire(ctx, p.Store.Pool(), "pool:"+server)
	if errors.Is(err, pglock.ErrHeld) {
		return ErrBusy
	}
	if err != nil {
		return err
	}
	defer unlock()
	h, err := p.Server(ctx, server)
	if err != nil {
		return err
	}
	for _, sp := range spares {
		if sp.State != catalog.SpareDropping {
			if ok, err := p.Store.RetireSpare(ctx, sp.ID, sp.State); err != nil {
				return err
			} else if !ok {
				continue
			}
		}
		if err := p.dropSpare(ctx, h, sp); err != nil {
			return err
		}
	}
	return nil
}

// SpareIDs returns the ids of every spare in the catalog by server, for reconcile and
// the audit: a spare's database and roles are not orphans.
func (p *Provisioner) SpareIDs(ctx context.Context) (map[string]map[string]bool, error) {
	spares, err := p.Store.ListSpares(ctx, "")
	if err != nil {
		return nil, err
	}
	out := map[string]map[string]bool{}
	for _, sp := range spares {
		if out[sp.Server] == nil {
			out[sp.Server] = map[string]bool{}
		}
		out[sp.Server][sp.ID] = true
	}
	return out, nil
}

// RemoveServer unregisters an empty server, dropping its spare databases first.
func (p *Provisioner) RemoveServer(ctx context.Context, name string) error {
	if _, err := p.Store.GetServer(ctx, name); err != nil {
		return err
	}
	if err := p.Store.SetSpares(ctx, name, 0); err != nil {
		return err
	}
	if err := p.EmptyPool(ctx, name); err != nil {
		return err
	}
	return p.Store.RemoveServer(ctx, name)
}

// cloneTemplate clones tmpl into the database of id. A template dropped between
// EnsureTemplate and the clone (a migration run replacing it) is not a failure: the
// template of the set is ensured again and the clone retried, so a tenant created while
// templates change never fails for it.
//
// Every clone is fingerprinted before anything else touches it: a clone that does not
// match the template's fingerprint recorded at its build means the template was changed
// since (a grant, a function planted there); the clone is dropped, the template rebuilt
// and cloned again.
//
// It returns the connection that fingerprinted the clone (the caller closes it), so the
// adoption that follows needs no login of its own.
//
// handOver false leaves the clone owned by the admin ([tenantdb.Server.CloneDatabase]):
// the caller hands it over with [tenantdb.Server.AdoptAndHardenOn].
func (p *Provisioner) cloneTemplate(ctx context.Context, h *tenantdb.Server, id string, tmpl tenantdb.Template, handOver bool) (tenantdb.Template, *pgx.Conn, error) {
	for attempt := 0; ; attempt++ {
		if p.Hooks.BeforeClone != nil {
			p.Hooks.BeforeClone(tmpl.Name)
		}
		var err error
		if handOver {
			err = h.CreateDatabase(ctx, id, tmpl.Name)
		} else {
			err = h.CloneDatabase(ctx, id, tmpl.Name)
		}
		if err == nil {
			var conn *pgx.Conn
			conn, err = p.verifyClone(ctx, h, id, tmpl)
			var drift *tenantdb.TemplateDriftError
			if err == nil || !errors.As(err, &drift) || attempt == 2 {
				return tmpl, conn, err
			}
			p.Log.Warn("template changed since it was built; rebuilding it", "server", h.Name, "template", tmpl.Name)
			if err := h.DropDatabase(ctx, id); err != nil {
				return tmpl, nil, err
			}
			if err := h.DropTemplate(ctx, tmpl.Name); err != nil {
				return tmpl, nil, err
			}
			if err := p.Store.DeleteTemplateFingerprint(ctx, h.Name, tmpl.Name); err != nil {
				return tmpl, nil, err
			}
			if tmpl, err = p.ensureTemplate(ctx, h); err != nil {
				return tmpl, nil, err
			}
			continue
		}
		if attempt == 2 || dbconn.SQLState(err) != pgerrcode.InvalidCatalogName {
			return tmpl, nil, err
		}
		p.Log.Info("template gone before the clone; ensuring it again", "server", h.Name, "template", tmpl.Name)
		if tmpl, err = p.ensureTemplate(ctx, h); err != nil {
			return tmpl, nil, err
		}
	}
}

// verifyClone checks that the fresh clone id is tmpl as it was built. It returns the
// connection to the clone that checked it when it is (the caller closes it).
//
// The proof is the template's witness ([tenantdb.Server.TemplateWitness]), read on the
// admin connection while the login to the clone is made: when it is the version under
// which an earlier clone was fingerprinted and matched (recorded in the catalog), nobody
// entered the template since, and the clone needs no fingerprint. Otherwise (the first
// clone of a template, or one opened since) the clone is fingerprinted and compared
// with the fingerprint taken when the template was built; if it matches and the
// template's row is the version EnsureTemplate saw before the clone (so it stood from
// before the clone to after it, while CREATE DATABASE itself made sure no session was
// in the template), that version is recorded as the witness for later clones.
func (p *Provisioner) verifyClone(ctx context.Context, h *tenantdb.Server, id string, tmpl tenantdb.Template) (*pgx.Conn, error) {
	type login struct {
		conn *pgx.Conn
		err  error
	}
	logged := make(chan login, 1)
	go func() {
		conn, err := h.ConnectTenant(ctx, id)
		logged <- login{conn, err}
	}()
	now, werr := h.TemplateWitness(ctx, tmpl.Name)
	l := <-logged
	if l.err != nil {
		return nil, l.err
	}
	if werr != nil {
		l.conn.Close(context.WithoutCancel(ctx))
		return nil, werr
	}
	if now != "" && now == tmpl.CloneWitness {
		return l.conn, nil
	}
	got, err := h.FingerprintOn(ctx, l.conn)
	if err != nil {
		l.conn.Close(context.WithoutCancel(ctx))
		return nil, err
	}
	if got != tmpl.Fingerprint {
		l.conn.Close(context.WithoutCancel(ctx))
		return nil, &tenantdb.TemplateDriftError{Server: h.Name, Template: tmpl.Name, Want: tmpl.Fingerprint, Got: got}
	}
	if now != "" && now == tmpl.Witness {
		// Only a shortcut for later clones: a kill before or after it changes nothing
		// but whether the next clone is fingerprinted.
		if err := p.Store.SetTemplateCloneWitness(ctx, h.Name, tmpl.Name, tmpl.Fingerprint, now); err != nil {
			l.conn.Close(context.WithoutCancel(ctx))
			return nil, err
		}
	}
	return l.conn, nil
}
