package provisioner

import (
	"context"
	"errors"
	"fmt"

	"github.com/tenantctl/tenantctl/catalog"
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

// Create provisions a tenant: records it, creates its roles and database on the chosen
// server, migrates and hardens it, and marks it active. Running Create again for a
// tenant whose provisioning was interrupted (same slug, name and domain) finishes it.
func (p *Provisioner) Create(ctx context.Context, o CreateOptions) (catalog.Tenant, error) {
	labels, err := o.Validate()
	if err != nil {
		return catalog.Tenant{}, err
	}
	if _, err := p.Store.Box(ctx); err != nil {
		return catalog.Tenant{}, err
	}
	if existing, err := p.Store.GetTenant(ctx, o.Slug); err == nil {
		resumable := existing.State == catalog.StateProvisioning || existing.State == catalog.StateFailed
		if !resumable || existing.Domain != o.Domain || existing.Name != o.Name {
			return existing, catalog.Taken("slug", validate.Invalid(fmt.Errorf("slug %q is already taken (tenant %s, state %s): %w",
				o.Slug, existing.ID, existing.State, catalog.ErrTenantExists)))
		}
		p.Log.Info("resuming interrupted provisioning", "tenant", o.Slug, "step", existing.Step)
		return p.finishCreate(ctx, existing.ID, o.SlowPath)
	} else if !errors.Is(err, catalog.ErrTenantNotFound) {
		return catalog.Tenant{}, err
	}
	srv, err := p.Place(ctx, o.Server, labels)
	if err != nil {
		return catalog.Tenant{}, err
	}
	if !o.SlowPath {
		t, err := p.createFromSpare(ctx, srv, o, labels)
		if !errors.Is(err, catalog.ErrNoSpare) {
			return t, err
		}
	}
	// The tenant's lock will hold one catalog connection while the steps use another:
	// its login overlaps the insert.
	ahead := p.Store.ConnectAhead(ctx)
	defer ahead.Close()
	t := catalog.Tenant{
		ID: tenantdb.NewID(), Slug: o.Slug, Name: o.Name, Domain: o.Domain,
		ContactEmail: o.ContactEmail, Labels: labels, Server: srv.Name,
	}
	if err := p.Store.InsertTenant(ctx, t); err != nil {
		return catalog.Tenant{}, err
	}
	fpCreateInserted.Hit()
	p.Log.Info("provisioning tenant", "tenant", t.Slug, "id", t.ID, "server", srv.Name)
	return p.finishCreateOn(ctx, t.ID, o.SlowPath, ahead)
}

// finishCreate runs every provisioning step not yet recorded as done. Each step is
// idempotent, so a step interrupted after its effect but before its record runs again
// harmlessly.
func (p *Provisioner) finishCreate(ctx context.Context, id string, slow bool) (catalog.Tenant, error) {
	return p.finishCreateOn(ctx, id, slow, nil)
}

// finishCreateOn is finishCreate taking the tenant's lock on ahead when it is not nil.
func (p *Provisioner) finishCreateOn(ctx context.Context, id string, slow bool, ahead *catalog.ConnAhead) (catalog.Tenant, error) {
	lock := p.lockTenant
	if ahead != nil {
		lock = func(ctx context.Context, id string) (func(), error) { return p.lockTenantOn(ctx, ahead, id) }
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
	if err := p.runCreateSteps(ctx, t, slow); err != nil {
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

func (p *Provisioner) runCreateSteps(ctx context.Context, t catalog.Tenant, slow bool) error {
	srv, err := p.Server(ctx, t.Server)
	if err != nil {
		return err
	}
	if t.Step == StepClaimed {
		// Made from a spare: only the app role's password and LOGIN are missing.
		pw, err := p.Store.Credential(ctx, t.ID, "app")
		if err != nil {
			return err
		}
		if err := srv.SetDomain(ctx, t.ID, t.Domain); err != nil {
			return err
		}
		if err := srv.ActivateApp(ctx, t.ID, pw); err != nil {
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
	appPW := ""       // the app role's password once the credentials step read or stored it
	for _, step := range createSteps[start:] {
		switch step {
		case StepCredentials:
			pw, inserted, err := p.Store.EnsureCredential(ctx, t.ID, "app", secret.NewPassword())
			if err != nil {
				return err
			}
			if inserted {
				fpCredentialStored.Hit()
			}
			appPW = pw
		case StepRoles:
			pw := appPW
			if pw == "" {
				if pw, err = p.Store.Credential(ctx, t.ID, "app"); err != nil {
					return err
				}
			}
			if err := srv.EnsureRoles(ctx, t.ID, pw, true); err != nil {
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
			p.syncWarehouse(ctx, t, catalog.StateActive)
		}
		fpStepDone[step].Hit()
		u := catalog.TenantUpdate{Step: &step}
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
		fpStepRecorded[step].Hit()
		if err := p.afterStep(step); err != nil {
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
			if tmpl, err = p.cloneTemplate(ctx, srv, t.ID, tmpl); err != nil {
				return 0, false, err
			}
			if err := srv.AdoptAndHarden(ctx, t.ID, t.Domain); err != nil {
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
	version, err = srv.Migrate(ctx, t.ID, fsys, tenantdb.MigrateOptions{})
	return version, false, err
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
