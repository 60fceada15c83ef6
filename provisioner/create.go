package provisioner

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/tenantctl/tenantctl/catalog"
	"github.com/tenantctl/tenantctl/internal/pglock"
	"github.com/tenantctl/tenantctl/internal/validate"
	"github.com/tenantctl/tenantctl/secret"
	"github.com/tenantctl/tenantctl/tenantdb"
	"github.com/tenantctl/tenantctl/warehouse"
)

// Provisioning steps, recorded in the catalog as each one completes.
const (
	StepCredentials = "credentials"
	StepRoles       = "roles"
	StepDatabase    = "database"
	StepHardened    = "hardened"
	StepWarehouse   = "warehouse"
	StepPurging     = "purging"
)

var createSteps = []string{StepCredentials, StepRoles, StepDatabase, StepHardened, StepWarehouse}

// CreateOptions describe a new tenant.
type CreateOptions struct {
	Slug         string
	Name         string
	Domain       string
	Server       string
	Labels       []string
	ContactEmail string
	// SlowPath creates the database empty and runs every migration instead of cloning
	// the server's template.
	SlowPath bool
}

// Validate checks and normalises the options without touching anything.
func (o *CreateOptions) Validate() (map[string]string, error) {
	if err := validate.Slug(o.Slug); err != nil {
		return nil, err
	}
	if err := validate.DisplayName(o.Name); err != nil {
		return nil, err
	}
	d, err := validate.Domain(o.Domain)
	if err != nil {
		return nil, err
	}
	o.Domain = d
	if o.ContactEmail != "" {
		if o.ContactEmail, err = validate.ContactEmail(o.ContactEmail, d); err != nil {
			return nil, err
		}
	}
	if o.Server != "" {
		if err := validate.ServerName(o.Server); err != nil {
			return nil, err
		}
	}
	return validate.Labels(o.Labels)
}

// CreateOutcome says how a [Provisioner.CreateWithOutcome] that succeeded came by its
// tenant.
type CreateOutcome int

const (
	// Created means this run provisioned the tenant.
	Created CreateOutcome = iota
	// Resumed means this run finished a provisioning that an earlier run left
	// unfinished (it died, was cancelled or failed; none was still running).
	Resumed
	// CreatedByAnother means this run waited behind another live run creating the same
	// tenant with the same spec, which finished it; this run changed nothing.
	CreatedByAnother
)

// CreateWait is how long a create waits for another live run creating the same slug
// to finish before giving up with [ErrBusy].
const CreateWait = 60 * time.Second

// Create provisions a tenant: records it, creates its roles and database on the chosen
// server, migrates and hardens it, and marks it active. Running Create again for a
// tenant whose provisioning was interrupted (same slug, name and domain) finishes it.
func (p *Provisioner) Create(ctx context.Context, o CreateOptions) (catalog.Tenant, error) {
	t, _, err := p.CreateWithOutcome(ctx, o)
	return t, err
}

// CreateWithOutcome is [Provisioner.Create], saying how the tenant came to be.
//
// Every create of a slug holds the catalog lock "create:<slug>" from before it reads
// the catalog until it returns, so concurrent creates of one slug run one at a time.
// A create that had to wait for the lock knows a live run was working on the slug:
// finding the tenant active with the same spec, it reports [CreatedByAnother] and
// changes nothing; with a different spec it is refused (the slug is taken, exit 2).
// A tenant still provisioning once the lock is ours was left by a run that is gone
// (the lock ends with its session), and only then is it resumed.
func (p *Provisioner) CreateWithOutcome(ctx context.Context, o CreateOptions) (catalog.Tenant, CreateOutcome, error) {
	labels, err := o.Validate()
	if err != nil {
		return catalog.Tenant{}, Created, err
	}
	// The locks live on a catalog connection of their own, opened and locked in the
	// background while the key check, the catalog read and placement run on the pool's
	// connection; the lock is awaited only before the first catalog write.
	lk := p.lockSlugAhead(ctx, o.Slug)
	defer lk.close()
	// With KeepWarm, the server's change of the claim started now, uncommitted.
	early := p.earlyClaim(ctx, o)
	defer func() { early.close() }()
	if _, err := p.Store.Box(ctx); err != nil {
		return catalog.Tenant{}, Created, err
	}
	// The slug's tenant and the servers placement chooses among, in one round trip.
	_, tenantErr, servers, serversErr := p.Store.TenantAndServers(ctx, o.Slug, o.Server)
	if tenantErr == nil {
		return p.createExisting(ctx, lk, o, labels)
	} else if !errors.Is(tenantErr, catalog.ErrTenantNotFound) {
		return catalog.Tenant{}, Created, tenantErr
	}
	srv, err := place(o.Server, labels, servers, serversErr)
	if err != nil {
		return catalog.Tenant{}, Created, err
	}
	conn, waited, err := lk.wait()
	if err != nil {
		return catalog.Tenant{}, Created, err
	}
	if waited {
		// A live run held the slug: it may have created the tenant meanwhile.
		if _, err := p.Store.GetTenant(ctx, o.Slug); err == nil {
			return p.createExisting(ctx, lk, o, labels)
		} else if !errors.Is(err, catalog.ErrTenantNotFound) {
			return catalog.Tenant{}, Created, err
		}
	}
	if !o.SlowPath {
		t, err := p.createFromSpare(ctx, srv, o, labels, lk, early)
		early = nil
		if !errors.Is(err, catalog.ErrNoSpare) {
			return t, Created, err
		}
	}
	t := catalog.Tenant{
		ID: tenantdb.NewID(), Slug: o.Slug, Name: o.Name, Domain: o.Domain,
		ContactEmail: o.ContactEmail, Labels: labels, Server: srv.Name,
	}
	// The tenant's lock, taken on the slug lock's connection before its row exists: no
	// other run (reconcile) can drive the tenant between the insert and this create, so
	// the row is what this create inserted and is not read back. It is not released
	// before the end: closing the connection ends it, and a connection kept for the next
	// create (KeepWarm) has every lock released first.
	if _, err := p.lockTenantShared(ctx, conn, t.ID); err != nil {
		return catalog.Tenant{}, Created, err
	}
	// The tenant is recorded with both roles' passwords sealed, at step credentials:
	// one transaction for what a resumed create does in three.
	pw := createPasswords{app: secret.NewPassword(), owner: secret.NewPassword()}
	if err := p.Store.InsertTenantWithCredentials(ctx, t, StepCredentials, pw.app, pw.owner); err != nil {
		return catalog.Tenant{}, Created, err
	}
	fpCreateInserted.Hit()
	fpCredentialStored.Hit()
	fpStepDone[StepCredentials].Hit()
	if err := p.reached(fpStepRecorded[StepCredentials], StepCredentials); err != nil {
		return catalog.Tenant{}, Created, err
	}
	p.Log.Info("provisioning tenant", "tenant", t.Slug, "id", t.ID, "server", srv.Name)
	t.State, t.Step = catalog.StateProvisioning, StepCredentials
	t, err = p.driveCreate(ctx, t, o.SlowPath, pw, true)
	return t, Created, err
}

// createPasswords are the app and owner roles' passwords a create stored, passed on so
// the steps that give them to the server need not read them back ("": read them).
type createPasswords struct{ app, owner string }

// slugLock is the create lock of one slug being taken in the background on a catalog
// connection of its own (which also takes the tenant's lock later).
type slugLock struct {
	p      *Provisioner
	done   chan struct{}
	ahead  *catalog.ConnAhead
	conn   *pgx.Conn
	waited bool
	err    error
	// released: every lock on conn was released already (a claim's finish does it in
	// its own round trip).
	released bool
}

// lockSlugAhead starts opening a catalog connection and taking the slug's create lock
// on it, waiting up to [CreateWait] for a live run that holds it.
func (p *Provisioner) lockSlugAhead(ctx context.Context, slug string) *slugLock {
	ahead, kept := p.catalogConnAhead(ctx)
	l := &slugLock{done: make(chan struct{}), ahead: ahead, p: p}
	go func() {
		defer close(l.done)
		l.conn, l.err = l.ahead.Take()
		if l.err == nil {
			l.waited, l.err = p.lockSlug(ctx, l.conn, slug)
		}
		var pgErr *pgconn.PgError
		if l.err != nil && kept && ctx.Err() == nil && !errors.As(l.err, &pgErr) && !errors.Is(l.err, ErrBusy) {
			// A connection kept since an earlier create (KeepWarm) that broke meanwhile
			// (the catalog restarted): log in again.
			if l.conn != nil {
				_ = l.conn.Close(context.Background())
			}
			l.ahead = p.Store.ConnectAhead(ctx)
			if l.conn, l.err = l.ahead.Take(); l.err == nil {
				l.waited, l.err = p.lockSlug(ctx, l.conn, slug)
			}
		}
		if l.err == nil {
			fpCreateSlugLocked.Hit()
		}
	}()
	return l
}

// wait returns the connection holding the lock, and whether another run held it first.
func (l *slugLock) wait() (*pgx.Conn, bool, error) {
	<-l.done
	return l.conn, l.waited, l.err
}

// close ends the connection, and every lock it holds. With KeepWarm the connection is
// kept instead, every lock released, for the next create's locks: a long-running serve
// makes no catalog login per request.
func (l *slugLock) close() {
	<-l.done
	l.ahead.Close()
	if l.conn == nil {
		return
	}
	if l.p.KeepWarm && l.err == nil && l.p.keepLockConn(l.conn, l.released) {
		return
	}
	_ = l.conn.Close(context.Background())
	if l.p.KeepWarm {
		go l.p.keepCatalogConn() // the next create's, logged in between requests
	}
}

// lockSlug takes the create lock of a slug on conn, waiting up to [CreateWait] for a
// live run that holds it; waited reports that one did.
func (p *Provisioner) lockSlug(ctx context.Context, conn *pgx.Conn, slug string) (waited bool, err error) {
	_, err = pglock.AcquireShared(ctx, conn, "create:"+slug, 0)
	if err == nil {
		return false, nil
	}
	if !errors.Is(err, pglock.ErrHeld) {
		return false, err
	}
	p.Log.Info("waiting for another run creating the same tenant", "tenant", slug)
	if _, err = pglock.AcquireShared(ctx, conn, "create:"+slug, CreateWait); errors.Is(err, pglock.ErrHeld) {
		return true, ErrBusy
	}
	return true, err
}

// createExisting is a create that found its slug taken. It waits for the slug's create
// lock and reads the tenant again under it.
func (p *Provisioner) createExisting(ctx context.Context, lk *slugLock, o CreateOptions, labels map[string]string) (catalog.Tenant, CreateOutcome, error) {
	conn, waited, err := lk.wait()
	if err != nil {
		return catalog.Tenant{}, Created, err
	}
	existing, err := p.Store.GetTenant(ctx, o.Slug)
	if errors.Is(err, catalog.ErrTenantNotFound) {
		// Deleted and purged meanwhile: the slug is free again; create it afresh.
		return catalog.Tenant{}, Created, fmt.Errorf("tenant %q was removed while this create waited; run it again: %w", o.Slug, ErrBusy)
	} else if err != nil {
		return catalog.Tenant{}, Created, err
	}
	resumable := existing.State == catalog.StateProvisioning || existing.State == catalog.StateFailed
	if !sameSpec(existing, o, labels) {
		if waited {
			return existing, Created, catalog.Taken("slug", validate.Invalid(fmt.Errorf("another run created tenant %q meanwhile (tenant %s, state %s) with a different spec; slug %q is taken: %w",
				o.Slug, existing.ID, existing.State, o.Slug, catalog.ErrTenantExists)))
		}
		return existing, Created, catalog.Taken("slug", validate.Invalid(fmt.Errorf("slug %q is already taken (tenant %s, state %s): %w",
			o.Slug, existing.ID, existing.State, catalog.ErrTenantExists)))
	}
	if waited && existing.State == catalog.StateActive {
		p.Log.Info("another run created the tenant meanwhile", "tenant", o.Slug, "id", existing.ID)
		return existing, CreatedByAnother, nil
	}
	if !resumable {
		return existing, Created, catalog.Taken("slug", validate.Invalid(fmt.Errorf("slug %q is already taken (tenant %s, state %s): %w",
			o.Slug, existing.ID, existing.State, catalog.ErrTenantExists)))
	}
	// The run that left it is gone: its locks ended with its session.
	if existing.State == catalog.StateFailed {
		p.Log.Info("retrying failed provisioning", "tenant", o.Slug, "step", existing.Step)
	} else {
		p.Log.Info("resuming interrupted provisioning", "tenant", o.Slug, "step", existing.Step)
	}
	t, err := p.finishCreateOn(ctx, existing.ID, o.SlowPath, conn)
	return t, Resumed, err
}

// sameSpec reports whether a create's options describe the tenant as recorded. An
// unnamed server or contact means any.
func sameSpec(t catalog.Tenant, o CreateOptions, labels map[string]string) bool {
	if t.Name != o.Name || t.Domain != o.Domain || (o.Server != "" && o.Server != t.Server) ||
		(o.ContactEmail != "" && o.ContactEmail != t.ContactEmail) || len(labels) != len(t.Labels) {
		return false
	}
	for k, v := range labels {
		if w, ok := t.Labels[k]; !ok || w != v {
			return false
		}
	}
	return true
}

// finishCreate runs every provisioning step not yet recorded as done. Each step is
// idempotent, so a step interrupted after its effect but before its record runs again
// harmlessly.
func (p *Provisioner) finishCreate(ctx context.Context, id string, slow bool) (catalog.Tenant, error) {
	return p.finishCreateOn(ctx, id, slow, nil)
}

// finishCreateOn is finishCreate taking the tenant's lock on conn (which the caller
// closes) when it is not nil.
func (p *Provisioner) finishCreateOn(ctx context.Context, id string, slow bool, conn *pgx.Conn) (catalog.Tenant, error) {
	return p.finishCreateWith(ctx, id, slow, conn, createPasswords{})
}

// finishCreateWith is finishCreateOn knowing the passwords the create stored.
func (p *Provisioner) finishCreateWith(ctx context.Context, id string, slow bool, conn *pgx.Conn, pw createPasswords) (catalog.Tenant, error) {
	lock := p.lockTenant
	if conn != nil {
		lock = func(ctx context.Context, id string) (func(), error) { return p.lockTenantShared(ctx, conn, id) }
	}
	unlock, err := lock(ctx, id)
	if err != nil {
		return catalog.Tenant{}, err
	}
	defer unlock()
	t, err := p.Store.GetTenantByID(ctx, id)
	if err != nil {
		return t, err
	}
	if t.State != catalog.StateProvisioning && t.State != catalog.StateFailed {
		return t, nil // finished by someone else meanwhile
	}
	return p.driveCreate(ctx, t, slow, pw, false)
}

// driveCreate runs the steps of tenant t's create that are left, under the tenant's
// lock held by the caller, recording a failure as such. bySlug reads the tenant back by
// its slug, under the slug's create lock (the statement the create's first read
// prepared: one round trip, not two), instead of by id.
func (p *Provisioner) driveCreate(ctx context.Context, t catalog.Tenant, slow bool, pw createPasswords, bySlug bool) (catalog.Tenant, error) {
	id := t.ID
	if err := p.runCreateSteps(ctx, t, slow, pw); err != nil {
		if errors.Is(err, errInjected) || ctx.Err() != nil {
			return t, err // a simulated crash or a cancelled command: leave it for the rerun
		}
		msg := secret.Scrub(err.Error())
		failed := catalog.StateFailed
		if uerr := p.Store.UpdateTenant(context.WithoutCancel(ctx), id, catalog.TenantUpdate{State: &failed, LastError: &msg,
			Event: &catalog.Event{Action: "tenant.create.failed", Slug: t.Slug, Details: map[string]any{"step": nextStep(t.Step), "error": msg}}}); uerr != nil {
			err = errors.Join(err, uerr)
		}
		return t, &UnfinishedError{Err: fmt.Errorf("provision tenant %q: %w", t.Slug, err), Rerun: true}
	}
	if bySlug {
		return p.Store.GetTenant(ctx, t.Slug)
	}
	return p.Store.GetTenantByID(ctx, id)
}

func nextStep(done string) string {
	for i, s := range createSteps {
		if s == done && i+1 < len(createSteps) {
			return createSteps[i+1]
		}
	}
	if done == "" {
		return createSteps[0]
	}
	return done
}

func (p *Provisioner) runCreateSteps(ctx context.Context, t catalog.Tenant, slow bool, known createPasswords) error {
	srv, err := p.Server(ctx, t.Server)
	if err != nil {
		return err
	}
	if t.Step == StepClaimed {
		// Made from a spare: only the app and owner roles' passwords and LOGIN are
		// missing. (A claim made before owner logins stored no owner password: sealed
		// now.)
		pw, err := p.Store.Credential(ctx, t.ID, "app")
		if err != nil {
			return err
		}
		if err := srv.SetDomain(ctx, t.ID, t.Domain); err != nil {
			return err
		}
		if err := p.WithOwnerPassword(ctx, t.ID, func(ownerPW string) error {
			return srv.ActivateApp(ctx, t.ID, pw, ownerPW)
		}); err != nil {
			return err
		}
		t.Step = StepHardened
	}
	start := 0
	for i, s := range createSteps {
		if s == t.Step {
			start = i + 1
		}
	}
	version := t.SchemaVersion
	hardened := false // the clone path hardens on the connection that adopts
	// The app and owner roles' passwords once the credentials step read or stored them.
	appPW, ownerPW := known.app, known.owner
	var whDone chan struct{} // the warehouse step's upsert, while it runs
	defer func() {
		if whDone != nil {
			<-whDone
		}
	}()
	for _, step := range createSteps[start:] {
		switch step {
		case StepCredentials:
			// Both passwords in one statement: the owner's is sealed before its role
			// exists, as a claim does, so the roles step needs no pending password of
			// its own (nothing reads a provisioning tenant's owner password).
			app, owner, inserted, err := p.Store.EnsureTenantCredentials(ctx, t.ID, secret.NewPassword(), secret.NewPassword())
			if err != nil {
				return err
			}
			if inserted {
				fpCredentialStored.Hit()
			}
			appPW, ownerPW = app, owner
		case StepRoles:
			pw := appPW
			if pw == "" {
				if pw, err = p.Store.Credential(ctx, t.ID, "app"); err != nil {
					return err
				}
			}
			ensure := func(ownerPW string) error { return srv.EnsureRoles(ctx, t.ID, pw, ownerPW, true) }
			if ownerPW != "" {
				err = ensure(ownerPW)
			} else {
				// Resumed past the credentials step: a create begun before both were
				// stored there gets its owner password the way reconcile converts.
				err = p.WithOwnerPassword(ctx, t.ID, ensure)
			}
			if err != nil {
				return err
			}
		case StepDatabase:
			if version, hardened, err = p.createDatabase(ctx, srv, t, slow); err != nil {
				return err
			}
		case StepHardened:
			// Hardened, and the customer's domain written, unless the clone's adopting
			// connection did both in this run (both idempotent).
			if !hardened {
				if err := srv.Harden(ctx, t.ID); err != nil {
					return err
				}
				if err := srv.SetDomain(ctx, t.ID, t.Domain); err != nil {
					return err
				}
			}
		case StepWarehouse:
			// The dimension's upsert runs beside the record of the tenant's activation,
			// not before it: two commits at once. It is awaited before the step is
			// reported done; a kill before it committed reruns the step, and every
			// rollup refreshes the dimension anyway.
			whDone = make(chan struct{})
			go func() {
				defer close(whDone)
				p.syncWarehouse(ctx, t, catalog.StateActive)
			}()
		}
		fpStepDone[step].Hit()
		// Every step's record but the last is progress a catalog crash may lose: the
		// rerun does the step again. The activation is durable.
		u := catalog.TenantUpdate{Step: &step, Progress: true}
		if step == StepDatabase {
			u.SchemaVersion = &version
		}
		if step == createSteps[len(createSteps)-1] {
			active, none := catalog.StateActive, ""
			u.State, u.LastError = &active, &none
			u.Event = &catalog.Event{Action: "tenant.active", Slug: t.Slug, Details: map[string]any{"server": t.Server, "schema_version": version}}
		}
		if err := p.Store.UpdateTenant(ctx, t.ID, u); err != nil {
			return err
		}
		if whDone != nil {
			<-whDone
			whDone = nil
		}
		if err := p.reached(fpStepRecorded[step], step); err != nil {
			return err
		}
	}
	return nil
}

// createDatabase makes the tenant database at the latest schema: a clone of the
// server's template (built on first use), or, on the slow path or when the template
// cannot be had, an empty database migrated from scratch. hardened reports that the
// database's access rules were applied too (a fresh clone is adopted and hardened on
// one connection).
func (p *Provisioner) createDatabase(ctx context.Context, srv *tenantdb.Server, t catalog.Tenant, slow bool) (version int64, hardened bool, err error) {
	fsys := p.TenantFS()
	existed, err := srv.DatabaseExists(ctx, tenantdb.Database(t.ID))
	if err != nil {
		return 0, false, err
	}
	if !slow && !existed {
		tmpl, err := p.ensureTemplate(ctx, srv)
		if err == nil {
			// The warehouse step logs in to the warehouse: that login overlaps the clone.
			p.warmWarehouse(ctx)
			var conn *pgx.Conn
			if tmpl, conn, err = p.cloneTemplate(ctx, srv, t.ID, tmpl, false); err != nil {
				return 0, false, err
			}
			// On the connection that checked the clone: one login to the new database,
			// not two, and one transaction that hands it over, adopts and hardens it.
			err = srv.AdoptAndHardenOn(ctx, conn, t.ID, t.Domain)
			conn.Close(context.WithoutCancel(ctx))
			if err != nil {
				return 0, false, err
			}
			return tmpl.Version, true, nil
		}
		p.Log.Warn("template unavailable; creating from scratch", "server", srv.Name, "error", err)
	}
	if err := srv.CreateDatabase(ctx, t.ID, ""); err != nil {
		return 0, false, err
	}
	// A database left by an interrupted attempt may be a clone whose objects still
	// belong to the template owner; the owner can read goose's table only once it owns
	// it, so hand them over before migrating.
	if err := srv.AdoptObjects(ctx, t.ID); err != nil {
		return 0, false, err
	}
	// The roles step gave the owner its login; a create begun before owner logins
	// migrates as before (reconcile converts the tenant later).
	ownerPW, err := p.Store.Credential(ctx, t.ID, catalog.OwnerCredential)
	if err != nil && !errors.Is(err, catalog.ErrNoCredential) {
		return 0, false, err
	}
	version, err = srv.Migrate(ctx, t.ID, fsys, tenantdb.MigrateOptions{OwnerPassword: ownerPW})
	return version, false, err
}

// WithOwnerPassword runs apply with the tenant owner role's password, the one the
// catalog holds. When it holds none (a tenant made before owner logins, or whose
// credentials a lost key erased), a new one is sealed as pending first, apply gives it
// to the server, and only then is it promoted: nothing reads an owner password the
// server does not have yet, so a run killed in between leaves every migration and
// rollup working as before, and the rerun (or reconcile) applies the same pending
// password and promotes it.
func (p *Provisioner) WithOwnerPassword(ctx context.Context, id string, apply func(password string) error) error {
	pw, err := p.Store.Credential(ctx, id, catalog.OwnerCredential)
	if err == nil {
		return apply(pw)
	}
	if !errors.Is(err, catalog.ErrNoCredential) {
		return err
	}
	pending := catalog.OwnerCredential + "_pending"
	pw, inserted, err := p.Store.EnsureCredential(ctx, id, pending, secret.NewPassword())
	if err != nil {
		return err
	}
	if inserted {
		fpOwnerCredentialStored.Hit()
	}
	if err := apply(pw); err != nil {
		return err
	}
	fpOwnerLogin.Hit()
	return p.Store.PromoteCredential(ctx, id, catalog.OwnerCredential)
}

// syncWarehouse keeps the warehouse's tenant dimension current when a warehouse is
// registered. Failures are logged, not fatal: every rollup refreshes the dimension.
func (p *Provisioner) syncWarehouse(ctx context.Context, t catalog.Tenant, state string) {
	pool, err := p.warehousePool(ctx)
	if errors.Is(err, catalog.ErrNoWarehouse) {
		return
	}
	if err == nil {
		err = warehouse.UpsertTenant(ctx, pool, warehouse.Tenant{ID: t.ID, Slug: t.Slug, Name: t.Name, Domain: t.Domain, Server: t.Server, State: state})
	}
	if err != nil {
		p.Log.Warn("could not update the warehouse tenant dimension", "tenant", t.Slug, "error", err)
	}
}

// errInjected marks a failure injected by a test hook, which must look like a crash.
var errInjected = errors.New("injected fault")

// InjectedFault wraps an error returned from a hook so the provisioner treats it as a
// crash (no failure recorded).
func InjectedFault(step string) error { return fmt.Errorf("%w after step %s", errInjected, step) }
