package rollout

import (
	"context"
	"fmt"

	"github.com/tenantctl/tenantctl/catalog"
	"github.com/tenantctl/tenantctl/internal/jsonw"
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
		return rep, unlisted(ctx, o.Store, o.Tenant)
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
	b = jsonw.String(jsonw.Key(b, "slug", true), t.Slug)
	b = jsonw.StringField(b, "server", t.Server)
	b = jsonw.StringField(b, "state", t.State)
	b = jsonw.IntField(b, "version", t.Version)
	b = jsonw.IntField(b, "latest", t.Latest)
	b = jsonw.IntField(b, "pending", int64(t.Pending))
	b = jsonw.StringField(b, "last_error", t.LastError)
	b = jsonw.OmitInt(b, "failed_version", t.FailedVersion)
	b = jsonw.OmitTime(b, "failed_at", t.FailedAt)
	b = jsonw.OmitString(b, "read_error", t.ReadError)
	return append(b, '}')
}
