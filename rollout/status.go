package rollout

import (
	"context"
	"fmt"
	"io/fs"
	"slices"
	"time"

	"github.com/tenantctl/tenantctl/catalog"
	"github.com/tenantctl/tenantctl/fleet"
	"github.com/tenantctl/tenantctl/secret"
)

// StatusOptions describe a [Status] report.
type StatusOptions struct {
	Store *catalog.Store
	// Servers is the server-handle cache to use (a runtime environment's, shared with
	// the rest of the process); nil: the run opens its own and closes it at the end.
	Servers *fleet.Servers
	// Migrations is the tenant migration set; nil means the embedded default.
	Migrations fs.FS
	// Options are the fleet knobs: Tenant, when set, reports only this tenant;
	// Concurrency and PerServer bound the databases read at once (0: defaults). Progress
	// is not used.
	fleet.Options
	// Verify reads every tenant database's own version table (and corrects the
	// catalog where it differs). Without it the report comes from the catalog alone:
	// one query, however many tenants.
	Verify bool
}

// TenantStatus is one tenant's migration state.
type TenantStatus struct {
	Slug   string `json:"slug"`
	Server string `json:"server"`
	State  string `json:"state"`
	// Version is the highest version in the tenant's goose table (the catalog's record
	// when the database could not be read).
	Version int64 `json:"version"`
	Latest  int64 `json:"latest"`
	// Pending counts the versions of the set not applied to the tenant.
	Pending int `json:"pending"`
	// LastError is the error of the tenant's last failed migration ("" when none).
	LastError     string     `json:"last_error"`
	FailedVersion *int64     `json:"failed_version,omitempty"`
	FailedAt      *time.Time `json:"failed_at,omitempty"`
	// ReadError is why the database's version could not be read.
	ReadError string `json:"read_error,omitempty"`
}

// Condition summarises a tenant: "failed" (its last migration failed), "behind",
// "ahead" (newer than the set), or "current".
func (t TenantStatus) Condition() string {
	switch {
	case t.LastError != "":
		return "failed"
	case t.Pending > 0:
		return "behind"
	case t.Version > t.Latest:
		return "ahead"
	}
	return "current"
}

// StatusReport is the fleet's migration state.
type StatusReport struct {
	Latest  int64          `json:"latest"`
	Hash    string         `json:"hash"`
	Tenants []TenantStatus `json:"tenants"`
	Current int            `json:"current"`
	Behind  int            `json:"behind"`
	Failed  int            `json:"failed"`
	Ahead   int            `json:"ahead"`
	// Unreadable counts the databases whose version could not be read.
	Unreadable int `json:"unreadable"`
	// Changed lists migration files changed after they were applied (a run would refuse
	// them).
	Changed []Change `json:"changed,omitempty"`
}

// Status reports every active and suspended tenant's migration state from the catalog,
// which records each tenant's version as migrations run. With o.Verify it reads each
// version from the tenant's own goose table instead (concurrency bounded overall and per
// server, one short connection per tenant), and corrects the catalog's recorded version
// where it differs. Failed migrations stay
// reported until the tenant migrates successfully.
func Status(ctx context.Context, o StatusOptions) (StatusReport, error) {
	var rep StatusReport
	if o.Store == nil {
		return rep, fmt.Errorf("rollout: no catalog store given")
	}
	if err := o.Prepare(fleet.Limits{Total: DefaultConcurrency, PerServer: DefaultPerServer}); err != nil {
		return rep, err
	}
	set, err := LoadSet(o.Migrations)
	if err != nil {
		return rep, err
	}
	rep.Latest, rep.Hash = set.Latest, set.Hash
	rec, err := loadRecorded(ctx, o.Store)
	if err != nil {
		return rep, err
	}
	rep.Changed = compare(set, rec)
	if !o.Verify {
		return statusFromCatalog(ctx, o, set, rep)
	}
	tenants, err := o.Store.ListTenants(ctx, catalog.TenantFilter{States: migratable, Slug: o.Tenant})
	if err != nil {
		return rep, fmt.Errorf("list tenants: %w", err)
	}
	if o.Tenant != "" && len(tenants) == 0 {
		return rep, unlisted(ctx, o.Store, o.Tenant)
	}
	byID := map[string]catalog.Tenant{}
	steps := make([]Step, len(tenants))
	for i, t := range tenants {
		byID[t.ID] = t
		steps[i] = Step{Slug: t.Slug, ID: t.ID, Server: t.Server, State: t.State, From: t.SchemaVersion}
	}
	srvs, release := handles(o.Store, o.Servers)
	defer release()
	type read struct {
		applied []int64
		err     error
	}
	got := map[string]read{}
	if !o.Verify {
		steps = nil // the catalog's record is the report
	}
	skipped := fleet.Dispatch(ctx, steps, stepServer, o.Limits(),
		func(ctx context.Context, st Step) read {
			srv, err := srvs.Get(ctx, st.Server)
			if err != nil {
				return read{err: err}
			}
			v, err := srv.AppliedVersions(ctx, st.ID)
			return read{applied: v, err: err}
		},
		func(st Step, r read) bool { got[st.ID] = r; return false })
	if len(skipped) > 0 {
		return rep, ctx.Err()
	}
	for _, t := range tenants {
		ts := TenantStatus{Slug: t.Slug, Server: t.Server, State: t.State, Version: t.SchemaVersion, Latest: set.Latest,
			LastError: t.MigrationError, FailedVersion: t.MigrationFailedVersion, FailedAt: t.MigrationFailedAt}
		r := got[t.ID]
		if !o.Verify {
			ts.Pending = len(set.After(t.SchemaVersion))
		} else if r.err != nil {
			ts.ReadError = secret.Scrub(r.err.Error())
			ts.Pending = len(set.After(t.SchemaVersion))
			rep.Unreadable++
		} else {
			ts.Version = 0
			if len(r.applied) > 0 {
				ts.Version = slices.Max(r.applied)
			}
			ts.Pending = set.Missing(r.applied)
			if ts.Version != t.SchemaVersion {
				v := ts.Version
				if err := o.Store.UpdateTenant(ctx, t.ID, catalog.TenantUpdate{SchemaVersion: &v}); err != nil {
					return rep, fmt.Errorf("correct the recorded version of tenant %q: %w", t.Slug, err)
				}
				o.Log.Info("catalog version corrected from the tenant database", "tenant", t.Slug, "recorded", t.SchemaVersion, "actual", v)
			}
		}
		rep.count(ts)
		rep.Tenants = append(rep.Tenants, ts)
	}
	if rep.Tenants == nil {
		rep.Tenants = []TenantStatus{}
	}
	return rep, nil
}
