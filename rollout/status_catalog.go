package rollout

import (
	"context"
	"fmt"

	"github.com/tenantctl/tenantctl/catalog"
	"github.com/tenantctl/tenantctl/internal/jsonw"
	"github.com/tenantctl/tenantctl/internal/validate"
)

// statusFromCatalog fills rep from the catalog alone (no --verify): one query over the
// migration columns, tenants counted as the rows arrive.
func statusFromCatalog(ctx context.Context, o StatusOptions, set Set, rep StatusReport) (StatusReport, error) {
	pending := map[int64]int{}
	rep.Tenants = []TenantStatus{}
	err := o.Store.EachTenantVersion(ctx, catalog.TenantFilter{States: migratable, Slug: o.Tenant}, func(t catalog.TenantVersion) error {
		n, ok := pending[t.SchemaVersion]
		if !ok {
			n = len(set.After(t.SchemaVersion))
			pending[t.SchemaVersion] = n
		}
		ts := TenantStatus{Slug: t.Slug, Server: t.Server, State: t.State, Version: t.SchemaVersion, Latest: set.Latest,
			Pending: n, LastError: t.MigrationError, FailedVersion: t.MigrationFailedVersion, FailedAt: t.MigrationFailedAt}
		rep.count(ts)
		rep.Tenants = append(rep.Tenants, ts)
		return nil
	})
	if err != nil {
		return rep, fmt.Errorf("list tenants: %w", err)
	}
	if o.Tenant != "" && len(rep.Tenants) == 0 {
		t, err := o.Store.GetTenant(ctx, o.Tenant)
		if err != nil {
			return rep, err
		}
		return rep, validate.Errorf("tenant %q is %s: only active and suspended tenants are migrated", t.Slug, t.State)
	}
	return rep, nil
}

// count adds ts to the report's tallies.
func (rep *StatusReport) count(ts TenantStatus) {
	switch ts.Condition() {
	case "failed":
		rep.Failed++
	case "behind":
		rep.Behind++
	case "ahead":
		rep.Ahead++
	default:
		rep.Current++
	}
}

// AppendJSON appends t as encoding/json would marshal it, without reflection
// (`migrate status -o json` prints one per tenant).
func (t TenantStatus) AppendJSON(b []byte) []byte {
	b = append(b, '{')
	b = jsonw.Key(b, "slug", true)
	b = jsonw.String(b, t.Slug)
	b = jsonw.Key(b, "server", false)
	b = jsonw.String(b, t.Server)
	b = jsonw.Key(b, "state", false)
	b = jsonw.String(b, t.State)
	b = jsonw.Key(b, "version", false)
	b = jsonw.Int(b, t.Version)
	b = jsonw.Key(b, "latest", false)
	b = jsonw.Int(b, t.Latest)
	b = jsonw.Key(b, "pending", false)
	b = jsonw.Int(b, int64(t.Pending))
	b = jsonw.Key(b, "last_error", false)
	b = jsonw.String(b, t.LastError)
	if t.FailedVersion != nil {
		b = jsonw.Key(b, "failed_version", false)
		b = jsonw.Int(b, *t.FailedVersion)
	}
	if t.FailedAt != nil {
		b = jsonw.Key(b, "failed_at", false)
		b = jsonw.Time(b, *t.FailedAt)
	}
	if t.ReadError != "" {
		b = jsonw.Key(b, "read_error", false)
		b = jsonw.String(b, t.ReadError)
	}
	return append(b, '}')
}
