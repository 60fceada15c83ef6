package rollup

import (
	"context"
	"sort"
	"time"

	"github.com/tenantctl/tenantctl/catalog"
	"github.com/tenantctl/tenantctl/internal/dbconn"
	"github.com/tenantctl/tenantctl/warehouse"
)

// TableStatus is the rollup state of one tenant's table.
type TableStatus struct {
	Slug     string `json:"slug"`
	TenantID string `json:"tenant_id"`
	Table    string `json:"table"`
	// Rows is the number of the tenant's rows in the warehouse table.
	Rows int64 `json:"rows"`
	// LastRun is the time of the last successful run (nil: never).
	LastRun *time.Time `json:"last_run"`
	// LastError is the error of the last run when it failed ("" when it succeeded).
	LastError   string     `json:"last_error"`
	LastErrorAt *time.Time `json:"last_error_at,omitempty"`
	// Mode is how the last successful run copied the table.
	Mode      string `json:"mode,omitempty"`
	Watermark *int64 `json:"watermark,omitempty"`
}

// Status reports, per tenant and rolled-up table, the rows in the warehouse, the last
// successful run and the last error. Tables are those with watermarks or a tenant_id
// column in the warehouse; every active or suspended tenant is listed for each of them,
// run or not. Rows are counted with one GROUP BY per table, never per tenant.
func Status(ctx context.Context, store *catalog.Store) ([]TableStatus, error) {
	dsn, err := store.WarehouseDSN(ctx)
	if err != nil {
		return nil, err
	}
	tenants, err := store.ListTenants(ctx, catalog.TenantFilter{States: []string{catalog.StateActive, catalog.StateSuspended}})
	if err != nil {
		return nil, err
	}
	conn, err := dbconn.Connect(ctx, dsn)
	if err != nil {
		return nil, err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	// A warehouse registered by an older tenantctl lacks columns the watermarks need.
	if ok, err := warehouse.Current(ctx, conn); err != nil || !ok {
		if err := warehouse.Migrate(ctx, dsn); err != nil {
			return nil, err
		}
	}
	marks, err := warehouse.Watermarks(ctx, conn, "")
	if err != nil {
		return nil, err
	}
	tableSet := map[string]bool{}
	for _, byTable := range marks {
		for name := range byTable {
			tableSet[name] = true
		}
	}
	rolled, err := warehouse.RolledUpTables(ctx, conn)
	if err != nil {
		return nil, err
	}
	for _, name := range rolled {
		tableSet[name] = true
	}
	tables := make([]string, 0, len(tableSet))
	for name := range tableSet {
		tables = append(tables, name)
	}
	sort.Strings(tables)
	counts, err := warehouse.RowCounts(ctx, conn, tables)
	if err != nil {
		return nil, err
	}
	dim, err := warehouse.Tenants(ctx, conn)
	if err != nil {
		return nil, err
	}

	// Every live tenant, plus any tenant the warehouse still knows about (rows or
	// watermarks of a tenant no longer active, until it is purged).
	slugs := map[string]string{}
	for _, t := range tenants {
		slugs[t.ID] = t.Slug
	}
	ids := map[string]bool{}
	for _, t := range tenants {
		ids[t.ID] = true
	}
	for id := range marks {
		ids[id] = true
	}
	for _, byTenant := range counts {
		for id := range byTenant {
			ids[id] = true
		}
	}
	out := []TableStatus{}
	for id := range ids {
		slug := slugs[id]
		if slug == "" {
			slug = dim[id].Slug
		}
		if slug == "" {
			slug = id
		}
		for _, name := range tables {
			st := TableStatus{Slug: slug, TenantID: id, Table: name, Rows: counts[name][id]}
			if m, ok := marks[id][name]; ok {
				st.LastRun, st.LastError, st.LastErrorAt, st.Mode, st.Watermark = m.LastRun, m.LastError, m.LastErrorAt, m.Mode, m.Xmin
			} else if st.Rows == 0 && slugs[id] == "" {
				continue
			}
			out = append(out, st)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Slug != out[j].Slug {
			return out[i].Slug < out[j].Slug
		}
		return out[i].Table < out[j].Table
	})
	return out, nil
}
