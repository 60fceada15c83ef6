package provisioner

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/tenantctl/tenantctl/catalog"
	"github.com/tenantctl/tenantctl/internal/fault"
	"github.com/tenantctl/tenantctl/internal/validate"
	"github.com/tenantctl/tenantctl/secret"
	"github.com/tenantctl/tenantctl/tenantdb"
	"github.com/tenantctl/tenantctl/warehouse"
)

// DefaultRetention is how long a deleted tenant waits before `purge --expired`.
const DefaultRetention = 7 * 24 * time.Hour

// withTenant loads a live tenant by slug under its lock and checks its state.
func (p *Provisioner) withTenant(ctx context.Context, slug string, states []string, fn func(t catalog.Tenant) error) error {
	t, unlock, err := p.lockTenantBySlug(ctx, slug)
	if err != nil {
		return err
	}
	defer unlock()
	if t, err = p.Store.GetTenantByID(ctx, t.ID); err != nil {
		return err
	}
	if !slices.Contains(states, t.State) {
		return validate.Invalid(fmt.Errorf("tenant %q is %s: %w (allowed from: %v)", slug, t.State, ErrWrongState, states))
	}
	return fn(t)
}

// Suspend stops the tenant's application from logging in and ends its sessions.
func (p *Provisioner) Suspend(ctx context.Context, slug string) error {
	return p.setAppLogin(ctx, slug, []string{catalog.StateActive, catalog.StateSuspended}, false, fpSuspendServer, fpSuspendCatalog)
}

// Resume lets a suspended tenant's application log in again.
func (p *Provisioner) Resume(ctx context.Context, slug string) error {
	return p.setAppLogin(ctx, slug, []string{catalog.StateSuspended, catalog.StateActive}, true, fpResumeServer, fpResumeCatalog)
}

// setAppLogin is Suspend (login false) and Resume: the app role's login on the server
// first, then the tenant's state in the catalog, then the warehouse's dimension; a kill
// point after each of the first two.
func (p *Provisioner) setAppLogin(ctx context.Context, slug string, from []string, login bool, fpServer, fpCatalog *fault.Point) error {
	state, action := catalog.StateSuspended, "tenant.suspend"
	if login {
		state, action = catalog.StateActive, "tenant.resume"
	}
	return p.withTenant(ctx, slug, from, func(t catalog.Tenant) error {
		srv, err := p.Server(ctx, t.Server)
		if err != nil {
			return err
		}
		if err := srv.SetAppLogin(ctx, t.ID, login); err != nil {
			return err
		}
		fpServer.Hit()
		if err := p.Store.UpdateTenant(ctx, t.ID, catalog.TenantUpdate{State: &state,
			Event: &catalog.Event{Action: action, Slug: t.Slug}}); err != nil {
			return err
		}
		fpCatalog.Hit()
		p.syncWarehouse(ctx, t, state)
		return nil
	})
}

// RotateCredentials gives the app role a new password, and the owner role too when it
// logs in with one of its own (tenantctl's login for migrations, rollups and moves);
// the old ones stop working. The new passwords are stored as pending before the server
// changes and promoted after, so a crash in between is finished by a rerun or by
// reconcile and no password is lost.
func (p *Provisioner) RotateCredentials(ctx context.Context, slug string) error {
	return p.withTenant(ctx, slug, []string{catalog.StateActive, catalog.StateSuspended}, func(t catalog.Tenant) error {
		if err := p.Store.SetCredential(ctx, t.ID, "app_pending", secret.NewPassword()); err != nil {
			return err
		}
		// A tenant whose owner has no password (one made before owner logins, or whose
		// credentials were erased with a lost key) is given its owner login after the
		// rotation, as reconcile's owner-login would: a pending password alone is that
		// conversion's, not a rotation's.
		hasOwner, err := p.Store.HasCredential(ctx, t.ID, catalog.OwnerCredential)
		if err != nil {
			return err
		}
		if hasOwner {
			if err := p.Store.SetCredential(ctx, t.ID, ownerPending, secret.NewPassword()); err != nil {
				return err
			}
		}
		fpRotatePending.Hit()
		if err := p.finishRotation(ctx, t); err != nil || hasOwner {
			return err
		}
		srv, err := p.Server(ctx, t.Server)
		if err != nil {
			return err
		}
		return p.convertOwnerLogin(ctx, srv, t)
	})
}

// ownerPending is the catalog role of an owner password not yet in force.
const ownerPending = catalog.OwnerCredential + "_pending"

// rotationPending reports whether a rotation of t's credentials was left unfinished: an
// app password pending, or an owner password pending beside the owner's current one
// (pending alone, it is an owner-login conversion's, which reconcile finishes as such).
func (p *Provisioner) rotationPending(ctx context.Context, id string) (bool, error) {
	if ok, err := p.Store.HasCredential(ctx, id, "app_pending"); err != nil || ok {
		return ok, err
	}
	return p.ownerRotationPending(ctx, id)
}

func (p *Provisioner) ownerRotationPending(ctx context.Context, id string) (bool, error) {
	if ok, err := p.Store.HasCredential(ctx, id, ownerPending); err != nil || !ok {
		return false, err
	}
	return p.Store.HasCredential(ctx, id, catalog.OwnerCredential)
}

// finishRotation sets on the server the pending passwords of t's app and owner roles and
// promotes them. Each part is done only while its password is pending, so a rerun after
// a kill anywhere finishes what is left.
func (p *Provisioner) finishRotation(ctx context.Context, t catalog.Tenant) error {
	srv, err := p.Server(ctx, t.Server)
	if err != nil {
		return err
	}
	appPW, err := p.Store.Credential(ctx, t.ID, "app_pending")
	if err != nil && !errors.Is(err, catalog.ErrNoCredential) {
		return err
	}
	ownerPW := ""
	if ok, err := p.ownerRotationPending(ctx, t.ID); err != nil {
		return err
	} else if ok {
		if ownerPW, err = p.Store.Credential(ctx, t.ID, ownerPending); err != nil {
			return err
		}
	}
	if appPW != "" {
		if err := srv.SetAppPassword(ctx, t.ID, appPW); err != nil {
			return err
		}
	}
	if ownerPW != "" {
		if err := srv.SetOwnerPassword(ctx, t.ID, ownerPW); err != nil {
			return err
		}
	}
	fpRotateServer.Hit()
	if appPW != "" {
		if err := p.Store.PromoteCredential(ctx, t.ID, "app"); err != nil {
			return err
		}
	}
	if ownerPW != "" {
		if err := p.Store.PromoteCredential(ctx, t.ID, catalog.OwnerCredential); err != nil {
			return err
		}
	}
	fpRotatePromoted.Hit()
	return p.Store.AppendEvent(ctx, nil, catalog.Event{Action: "tenant.rotate-credentials", TenantID: t.ID, Slug: t.Slug,
		Details: map[string]any{"app": appPW != "", "owner": ownerPW != ""}})
}

// DeleteOptions confirm a deletion.
type DeleteOptions struct {
	Slug    string
	Confirm string
	// Purge destroys the tenant at once instead of after the retention period.
	Purge bool
}

// Delete revokes every access to the tenant's database, ends its sessions and marks it
// deleting; the data stays until it is purged.
func (p *Provisioner) Delete(ctx context.Context, o DeleteOptions) error {
	if err := Confirm("delete", o.Slug, o.Confirm); err != nil {
		return err
	}
	states := []string{catalog.StateActive, catalog.StateSuspended, catalog.StateFailed, catalog.StateProvisioning, catalog.StateDeleting}
	var id string
	err := p.withTenant(ctx, o.Slug, states, func(t catalog.Tenant) error {
		id = t.ID
		if t.State == catalog.StateDeleting {
			return nil
		}
		srv, err := p.Server(ctx, t.Server)
		if err != nil {
			return err
		}
		if err := p.revokeAllGrants(ctx, t); err != nil {
			return err
		}
		fpDeleteGrants.Hit()
		if err := srv.RevokeAccess(ctx, t.ID); err != nil {
			return err
		}
		// tenantctl's own login too, before anything can be dropped.
		if err := srv.RevokeOwnerLogin(ctx, t.ID); err != nil {
			return err
		}
		fpDeleteServer.Hit()
		state, now := catalog.StateDeleting, time.Now()
		if err := p.Store.UpdateTenant(ctx, t.ID, catalog.TenantUpdate{State: &state, DeletedAt: &now,
			Event: &catalog.Event{Action: "tenant.delete", Slug: t.Slug}}); err != nil {
			return err
		}
		fpDeleteCatalog.Hit()
		p.syncWarehouse(ctx, t, state)
		return nil
	})
	if err != nil || !o.Purge {
		return err
	}
	return p.purgeID(ctx, id)
}

// CancelDelete takes a deleted tenant back before it is purged: it becomes suspended,
// its database as it was, its application still unable to log in until `tenant resume`.
// The MSP access grants the delete revoked are not given back. Refused once a purge has
// begun. A rerun after a crash finishes it; on a tenant already suspended it does
// nothing.
func (p *Provisioner) CancelDelete(ctx context.Context, slug string) error {
	return p.withTenant(ctx, slug, []string{catalog.StateDeleting, catalog.StateSuspended}, func(t catalog.Tenant) error {
		if t.State == catalog.StateSuspended {
			return nil
		}
		if t.Step == StepPurging {
			return validate.Invalid(fmt.Errorf("tenant %q is being purged: %w", slug, ErrWrongState))
		}
		srv, err := p.Server(ctx, t.Server)
		if err != nil {
			return err
		}
		// CONNECT for the app role again (the delete took it); it stays NOLOGIN.
		if err := srv.SetAppLogin(ctx, t.ID, false); err != nil {
			return err
		}
		if err := srv.Harden(ctx, t.ID); err != nil {
			return err
		}
		// The delete took the owner's LOGIN too: tenantctl's own login comes back.
		if err := p.WithOwnerPassword(ctx, t.ID, func(pw string) error { return srv.EnsureOwnerLogin(ctx, t.ID, pw) }); err != nil {
			return err
		}
		fpCancelDeleteServer.Hit()
		state := catalog.StateSuspended
		if err := p.Store.UpdateTenant(ctx, t.ID, catalog.TenantUpdate{State: &state, ClearDeleted: true,
			Event: &catalog.Event{Action: "tenant.cancel-delete", Slug: t.Slug}}); err != nil {
			return err
		}
		fpCancelDeleteCatalog.Hit()
		p.syncWarehouse(ctx, t, state)
		return nil
	})
}

// Purge destroys a deleted tenant now: its database, roles, warehouse rows and
// credentials. Only a tombstone event remains.
func (p *Provisioner) Purge(ctx context.Context, slug, confirm string) error {
	if err := Confirm("purge", slug, confirm); err != nil {
		return err
	}
	t, err := p.Store.GetTenant(ctx, slug)
	if err != nil {
		return err
	}
	if t.State != catalog.StateDeleting {
		return validate.Invalid(fmt.Errorf("tenant %q is %s: %w: delete it first", slug, t.State, ErrWrongState))
	}
	return p.purgeID(ctx, t.ID)
}

// PurgeExpired purges every tenant deleted longer than retention ago and returns the
// slugs purged. It carries on past a failure and reports every one.
func (p *Provisioner) PurgeExpired(ctx context.Context, retention time.Duration) ([]string, error) {
	tenants, err := p.Store.ListTenants(ctx, catalog.TenantFilter{States: []string{catalog.StateDeleting}})
	if err != nil {
		return nil, err
	}
	var purged []string
	var errs []error
	for _, t := range tenants {
		if t.DeletedAt == nil || time.Since(*t.DeletedAt) < retention {
			continue
		}
		if err := p.purgeID(ctx, t.ID); err != nil {
			errs = append(errs, fmt.Errorf("purge %s: %w", t.Slug, err))
			continue
		}
		purged = append(purged, t.Slug)
	}
	return purged, errors.Join(errs...)
}

func (p *Provisioner) purgeID(ctx context.Context, id string) error {
	unlock, err := p.lockTenant(ctx, id)
	if err != nil {
		return err
	}
	defer unlock()
	t, err := p.Store.GetTenantByID(ctx, id)
	if err != nil {
		return err
	}
	if t.State == catalog.StatePurged {
		return nil
	}
	step := StepPurging
	if err := p.Store.UpdateTenant(ctx, id, catalog.TenantUpdate{Step: &step}); err != nil {
		return err
	}
	if err := p.reached(fpPurgeMarked, StepPurging); err != nil {
		return err
	}
	if err := p.revokeAllGrants(ctx, t); err != nil {
		return err
	}
	var whRows int64
	if t.Server != "" {
		srv, err := p.Server(ctx, t.Server)
		if err != nil {
			return err
		}
		if err := dropDatabaseAndRoles(ctx, srv, t.ID, fpPurgeDatabase); err != nil {
			return err
		}
		fpPurgeRoles.Hit()
	}
	if dsn, err := p.Store.WarehouseDSN(ctx); err == nil {
		if whRows, err = warehouse.PurgeTenant(ctx, dsn, t.ID); err != nil {
			return err
		}
		fpPurgeWarehouse.Hit()
	} else if !errors.Is(err, catalog.ErrNoWarehouse) {
		return err
	}
	if err := p.Store.DeleteCredentials(ctx, t.ID); err != nil {
		return err
	}
	fpPurgeCredentials.Hit()
	state, now, none := catalog.StatePurged, time.Now(), ""
	if err := p.Store.UpdateTenant(ctx, t.ID, catalog.TenantUpdate{State: &state, Step: &none, PurgedAt: &now, ClearContact: true,
		Event: &catalog.Event{Action: "tenant.purge", Slug: t.Slug, Details: map[string]any{
			"tombstone": true, "database": tenantdb.Database(t.ID), "server": t.Server, "warehouse_rows_deleted": whRows,
		}}}); err != nil {
		return err
	}
	p.Log.Info("tenant purged", "tenant", t.Slug, "id", t.ID)
	return nil
}

// AppDSN returns the tenant application's connection string: the only secret tenantctl
// ever prints.
func (p *Provisioner) AppDSN(ctx context.Context, slug string) (string, error) {
	t, err := p.Store.GetTenant(ctx, slug)
	if err != nil {
		return "", err
	}
	if t.State == catalog.StateDeleting {
		return "", validate.Invalid(fmt.Errorf("tenant %q is being deleted: %w", slug, ErrWrongState))
	}
	pw, err := p.Store.Credential(ctx, t.ID, "app")
	if err != nil {
		return "", err
	}
	srv, err := p.Server(ctx, t.Server)
	if err != nil {
		return "", err
	}
	return srv.DSNFor(tenantdb.AppRole(t.ID), pw, tenantdb.Database(t.ID)), nil
}

// Stats returns a tenant's live statistics: rows of each of tables and database size.
func (p *Provisioner) Stats(ctx context.Context, t catalog.Tenant, tables []string) (tenantdb.Stats, error) {
	srv, err := p.Server(ctx, t.Server)
	if err != nil {
		return tenantdb.Stats{}, err
	}
	return srv.Stats(ctx, t.ID, tables)
}

// revokeAllGrants removes every MSP access grant on the tenant.
func (p *Provisioner) revokeAllGrants(ctx context.Context, t catalog.Tenant) error {
	grants, err := p.Store.ListAccessGrants(ctx, t.Slug, "")
	if err != nil {
		return err
	}
	return p.revokeGrants(ctx, t, grants)
}
