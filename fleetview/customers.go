package fleetview

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/tenantctl/tenantctl/catalog"
)

// Customer is one row of the customer list.
type Customer struct {
	catalog.Tenant
	// Warehouse figures; nil when unknown (no warehouse, not rolled up yet).
	Users         *int64     `json:"users"`
	Systems       *int64     `json:"systems"`
	OpenIncidents *int64     `json:"open_incidents"`
	LastRollup    *time.Time `json:"last_rollup"`
	// SizeBytes is the database's size, read live from its server (nil when unknown).
	SizeBytes *int64 `json:"size_bytes"`
}

// CustomerPage is one page of the customer list.
type CustomerPage struct {
	Customers []Customer           `json:"tenants"`
	Total     int                  `json:"total"`
	Search    catalog.TenantSearch `json:"-"`
}

// Customers returns a page of customers. With figures, it adds the warehouse counts
// (one query per table for the whole page) and database sizes (one query per server).
//
// A sort by a figure (users, systems, open_incidents, size_bytes) reads the figures of
// every tenant the search matches, sorts them here (unknown figures last, ties by slug)
// and then cuts the page: the figures are not in the catalog.
func (v *View) Customers(ctx context.Context, q catalog.TenantSearch, figures bool) (CustomerPage, error) {
	if slices.Contains(catalog.FigureSortKeys, q.Sort) {
		return v.customersByFigure(ctx, q)
	}
	tenants, total, err := v.Store.SearchTenants(ctx, q)
	if err != nil {
		return CustomerPage{}, err
	}
	_ = q.Validate() // defaults, as the store applied them
	page := CustomerPage{Total: total, Search: q, Customers: make([]Customer, len(tenants))}
	for i, t := range tenants {
		page.Customers[i] = Customer{Tenant: t}
	}
	if !figures || len(tenants) == 0 {
		return page, nil
	}
	if err := v.addWarehouseFigures(ctx, page.Customers); err != nil {
		v.Log.Warn("warehouse figures unavailable", "error", err)
	}
	v.addSizes(ctx, page.Customers)
	return page, nil
}

func (v *View) customersByFigure(ctx context.Context, q catalog.TenantSearch) (CustomerPage, error) {
	if err := q.Validate(); err != nil {
		return CustomerPage{}, err
	}
	all := catalog.TenantSearch{Query: q.Query, State: q.State, Server: q.Server, Sort: "slug", Limit: catalog.MaxPage}
	var cs []Customer
	total := 0
	for {
		tenants, n, err := v.Store.SearchTenants(ctx, all)
		if err != nil {
			return CustomerPage{}, err
		}
		total = n
		for _, t := range tenants {
			cs = append(cs, Customer{Tenant: t})
		}
		if len(tenants) < all.Limit || len(cs) >= n {
			break
		}
		all.Offset += len(tenants)
	}
	if len(cs) > 0 {
		if err := v.addWarehouseFigures(ctx, cs); err != nil {
			v.Log.Warn("warehouse figures unavailable", "error", err)
		}
		v.addSizes(ctx, cs)
	}
	figure := func(c Customer) *int64 {
		switch q.Sort {
		case "users":
			return c.Users
		case "systems":
			return c.Systems
		case "open_incidents":
			return c.OpenIncidents
		}
		return c.SizeBytes
	}
	sort.SliceStable(cs, func(i, j int) bool {
		a, b := figure(cs[i]), figure(cs[j])
		switch {
		case a == nil || b == nil:
			return a != nil && b == nil // unknown last, whatever the order
		case *a != *b:
			return (*a < *b) != q.Desc
		}
		return (cs[i].Slug < cs[j].Slug) != q.Desc
	})
	page := CustomerPage{Total: total, Search: q, Customers: []Customer{}}
	if q.Offset < len(cs) {
		page.Customers = cs[q.Offset:min(len(cs), q.Offset+q.Limit)]
	}
	return page, nil
}

// addWarehouseFigures fills users, systems, open incidents and the last rollup.
func (v *View) addWarehouseFigures(ctx context.Context, cs []Customer) error {
	wh, err := v.Warehouse.Pool(ctx)
	if errors.Is(err, catalog.ErrNoWarehouse) {
		return nil
	}
	if err != nil {
		return err
	}
	ids := make([]string, len(cs))
	byID := map[string]*Customer{}
	for i := range cs {
		ids[i] = cs[i].ID
		byID[cs[i].ID] = &cs[i]
	}
	counts := []struct {
		table, filter string
		dst           func(c *Customer, n int64)
	}{
		{"users", "", func(c *Customer, n int64) { c.Users = &n }},
		{"systems", "", func(c *Customer, n int64) { c.Systems = &n }},
		{"incidents", " AND status IN ('open', 'in_progress')", func(c *Customer, n int64) { c.OpenIncidents = &n }},
	}
	for _, k := range counts {
		if ok, err := tableExists(ctx, wh, "public."+k.table); err != nil || !ok {
			if err != nil {
				return err
			}
			continue
		}
		// Tenants with no rows count 0 once the table exists.
		for _, c := range byID {
			k.dst(c, 0)
		}
		rows, err := wh.Query(ctx, fmt.Sprintf(`SELECT tenant_id, count(*) FROM public.%s WHERE tenant_id = ANY($1)%s GROUP BY tenant_id`, k.table, k.filter), ids)
		if err != nil {
			return err
		}
		for rows.Next() {
			var id string
			var n int64
			if err := rows.Scan(&id, &n); err != nil {
				rows.Close()
				return err
			}
			k.dst(byID[id], n)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
	}
	rows, err := wh.Query(ctx, `SELECT tenant_id, max(last_run) FROM tenantctl.watermarks WHERE tenant_id = ANY($1) GROUP BY tenant_id`, ids)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var id string
		var at *time.Time
		if err := rows.Scan(&id, &at); err != nil {
			return err
		}
		byID[id].LastRollup = at
	}
	return rows.Err()
}

func tableExists(ctx context.Context, wh *pgxpool.Pool, name string) (bool, error) {
	var ok bool
	err := wh.QueryRow(ctx, `SELECT to_regclass($1) IS NOT NULL`, name).Scan(&ok)
	return ok, err
}

// addSizes fills database sizes, one query per server of the page; a server that does
// not answer leaves its tenants' sizes unknown.
func (v *View) addSizes(ctx context.Context, cs []Customer) {
	byServer := map[string][]string{}
	for _, c := range cs {
		if c.Server != "" && c.State != catalog.StatePurged {
			byServer[c.Server] = append(byServer[c.Server], c.ID)
		}
	}
	sizes := map[string]int64{}
	for name, ids := range byServer {
		srv, err := v.Servers.Get(ctx, name)
		if err == nil {
			var got map[string]int64
			if got, err = srv.DatabaseSizes(ctx, ids); err == nil {
				for id, n := range got {
					sizes[id] = n
				}
			}
		}
		if err != nil {
			v.Log.Warn("database sizes unavailable", "server", name, "error", err)
		}
	}
	for i := range cs {
		if n, ok := sizes[cs[i].ID]; ok {
			cs[i].SizeBytes = &n
		}
	}
}
