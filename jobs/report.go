package jobs

import (
	"context"

	"github.com/tenantctl/tenantctl/catalog"
	"github.com/tenantctl/tenantctl/fleet"
	"github.com/tenantctl/tenantctl/report"
)

// ReportOptions are a report delivery's: the catalog (for the tenants), the warehouse
// pool, the report spec, and where and how to write the files.
type ReportOptions struct {
	Store     *catalog.Store
	Warehouse *fleet.Warehouse
	Spec      *report.Spec
	Dir       string
	Format    string
}

// Report writes every active or suspended customer's report into a directory, one file
// each ([report.Deliver]); the result is how many were written.
var Report = Def[ReportOptions, int]{
	Name: "report",
	run: func(ctx context.Context, o ReportOptions) (int, error) {
		if err := report.CheckFormat(o.Format); err != nil {
			return 0, err
		}
		wh, err := o.Warehouse.Pool(ctx)
		if err != nil {
			return 0, err
		}
		tenants, err := o.Store.ListTenants(ctx, catalog.TenantFilter{States: []string{catalog.StateActive, catalog.StateSuspended}})
		if err != nil {
			return 0, err
		}
		rts := make([]report.Tenant, len(tenants))
		for i, t := range tenants {
			rts[i] = report.Tenant{ID: t.ID, Slug: t.Slug, Name: t.Name, Domain: t.Domain}
		}
		return report.Deliver(ctx, wh, o.Spec, rts, o.Dir, o.Format)
	},
	counts: func(n int, _ error) map[string]int64 { return map[string]int64{"reports": int64(n)} },
}
