package provisioner

import (
	"context"
	"fmt"
	"time"

	"github.com/tenantctl/tenantctl/catalog"
	"github.com/tenantctl/tenantctl/internal/validate"
)

// Plan is what a delete or purge would do to one tenant, worked out without changing
// anything (--dry-run). The checks are those of the real operation, so a plan that
// succeeds means the operation would be attempted.
type Plan struct {
	Slug     string     `json:"slug"`
	ID       string     `json:"id"`
	Server   string     `json:"server"`
	Database string     `json:"database"`
	State    string     `json:"state"`
	Deleted  *time.Time `json:"deleted_at,omitempty"`
	// Grants are the MSP access grants that would be revoked.
	Grants int `json:"access_grants"`
	// Actions say, in order, what would be done.
	Actions []string `json:"actions"`
}

var deletable = []string{catalog.StateActive, catalog.StateSuspended, catalog.StateFailed, catalog.StateProvisioning, catalog.StateDeleting}

// PlanDelete returns what [Provisioner.Delete] would do with o.
func (p *Provisioner) PlanDelete(ctx context.Context, o DeleteOptions) (Plan, error) {
	if err := Confirm("delete", o.Slug, o.Confirm); err != nil {
		return Plan{}, err
	}
	t, err := p.Store.GetTenant(ctx, o.Slug)
	if err != nil {
		return Plan{}, err
	}
	ok := false
	for _, s := range deletable {
		ok = ok || s == t.State
	}
	if !ok {
		return Plan{}, validate.Invalid(fmt.Errorf("tenant %q is %s: %w", t.Slug, t.State, ErrWrongState))
	}
	pl, err := p.plan(ctx, t)
	if err != nil {
		return pl, err
	}
	if t.State != catalog.StateDeleting {
		pl.Actions = append(pl.Actions,
			fmt.Sprintf("revoke %d MSP access grant(s)", pl.Grants),
			fmt.Sprintf("revoke CONNECT on %s from the tenant's roles, forbid the app role's login and end its sessions", pl.Database),
			"mark the tenant deleting (its data stays until purged)")
	}
	if o.Purge {
		pl.Actions = append(pl.Actions, purgeActions(pl)...)
	} else if t.State == catalog.StateDeleting {
		pl.Actions = append(pl.Actions, "nothing: the tenant is already deleting")
	}
	return pl, nil
}

// PlanPurge returns what [Provisioner.Purge] would do.
func (p *Provisioner) PlanPurge(ctx context.Context, slug, confirm string) (Plan, error) {
	if err := Confirm("purge", slug, confirm); err != nil {
		return Plan{}, err
	}
	t, err := p.Store.GetTenant(ctx, slug)
	if err != nil {
		return Plan{}, err
	}
	if t.State != catalog.StateDeleting {
		return Plan{}, validate.Invalid(fmt.Errorf("tenant %q is %s: %w: delete it first", slug, t.State, ErrWrongState))
	}
	pl, err := p.plan(ctx, t)
	pl.Actions = purgeActions(pl)
	return pl, err
}

// PlanPurgeExpired returns what [Provisioner.PurgeExpired] would purge: every tenant
// deleted longer than retention ago.
func (p *Provisioner) PlanPurgeExpired(ctx context.Context, retention time.Duration) ([]Plan, error) {
	tenants, err := p.ExpiredTenants(ctx, retention)
	if err != nil {
		return nil, err
	}
	out := []Plan{}
	for _, t := range tenants {
		pl, err := p.plan(ctx, t)
		if err != nil {
			return out, err
		}
		pl.Actions = purgeActions(pl)
		out = append(out, pl)
	}
	return out, nil
}

// ExpiredTenants returns the tenants deleted longer than retention ago: those
// [Provisioner.PurgeExpired] purges.
func (p *Provisioner) ExpiredTenants(ctx context.Context, retention time.Duration) ([]catalog.Tenant, error) {
	tenants, err := p.Store.ListTenants(ctx, catalog.TenantFilter{States: []string{catalog.StateDeleting}})
	if err != nil {
		return nil, err
	}
	var out []catalog.Tenant
	for _, t := range tenants {
		if t.DeletedAt != nil && time.Since(*t.DeletedAt) >= retention {
			out = append(out, t)
		}
	}
	return out, nil
}

func (p *Provisioner) plan(ctx context.Context, t catalog.Tenant) (Plan, error) {
	pl := Plan{Slug: t.Slug, ID: t.ID, Server: t.Server, Database: t.Database, State: t.State, Deleted: t.DeletedAt, Actions: []string{}}
	grants, err := p.Store.ListAccessGrants(ctx, t.Slug, "")
	if err != nil {
		return pl, err
	}
	pl.Grants = len(grants)
	return pl, nil
}

func purgeActions(pl Plan) []string {
	return []string{
		fmt.Sprintf("drop database %s on %s (WITH FORCE) and the tenant's roles", pl.Database, pl.Server),
		"delete the tenant's rows, watermarks and dimension row from the warehouse",
		"erase its credentials and contact address; keep the tenant row as purged and append a tombstone event",
	}
}
