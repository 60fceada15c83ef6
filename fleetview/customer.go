package fleetview

import (
	"context"
	"sort"
	"time"

	"github.com/tenantctl/tenantctl/audit"
	"github.com/tenantctl/tenantctl/catalog"
	"github.com/tenantctl/tenantctl/migrations"
	"github.com/tenantctl/tenantctl/report"
	"github.com/tenantctl/tenantctl/warehouse"
)

// Detail is everything the customer page shows.
type Detail struct {
	Customer
	LatestVersion int64                 `json:"latest_schema_version"`
	Events        []catalog.Event       `json:"events"`
	Grants        []catalog.AccessGrant `json:"access"`
	Rollup        []RollupTable         `json:"rollup"`
	// AuditRun is the latest fleet audit run (nil: none); AuditViolations are its
	// findings about this customer.
	AuditRun        *audit.HistoryRun `json:"audit_run"`
	AuditViolations []audit.Violation `json:"audit_violations"`
	// OutsideDomain is the warehouse's compliance check of the customer's users: those
	// whose email is outside the customer's domain (nil: not known, no users rolled up
	// or no warehouse).
	OutsideDomain []warehouse.DomainUser `json:"users_outside_domain"`
	// DomainChecked says whether OutsideDomain is known.
	DomainChecked bool `json:"-"`
}

// RollupTable is the rollup state of one of the customer's tables.
type RollupTable struct {
	Table     string     `json:"table"`
	Rows      *int64     `json:"rows"`
	LastRun   *time.Time `json:"last_run"`
	Mode      string     `json:"mode"`
	LastError string     `json:"last_error,omitempty"`
}

// Customer reads one customer's page.
func (v *View) Customer(ctx context.Context, slug string) (Detail, error) {
	t, err := v.Store.GetTenant(ctx, slug)
	if err != nil {
		return Detail{}, err
	}
	cs := []Customer{{Tenant: t}}
	if err := v.addWarehouseFigures(ctx, cs); err != nil {
		v.Log.Warn("warehouse figures unavailable", "tenant", slug, "error", err)
	}
	v.addSizes(ctx, cs)
	d := Detail{Customer: cs[0], AuditViolations: []audit.Violation{}, Rollup: []RollupTable{}}
	if d.LatestVersion, err = migrations.Latest(v.Migrations); err != nil {
		return d, err
	}
	if d.Events, err = v.Store.ListEvents(ctx, slug, 50); err != nil {
		return d, err
	}
	if d.Events == nil {
		d.Events = []catalog.Event{}
	}
	// Events of an older tenant with the same slug (purged) are not this customer's.
	kept := d.Events[:0]
	for _, e := range d.Events {
		if e.TenantID == "" || e.TenantID == t.ID {
			kept = append(kept, e)
		}
	}
	d.Events = kept
	if d.Grants, err = v.Store.ListAccessGrants(ctx, slug, ""); err != nil {
		return d, err
	}
	if wh, err := v.Warehouse.Pool(ctx); err == nil {
		marks, err := warehouse.Watermarks(ctx, wh, t.ID)
		if err != nil {
			v.Log.Warn("rollup status unavailable", "tenant", slug, "error", err)
		}
		for name, m := range marks[t.ID] {
			d.Rollup = append(d.Rollup, RollupTable{Table: name, Rows: m.RowCount, LastRun: m.LastRun, Mode: m.Mode, LastError: m.LastError})
		}
		sort.Slice(d.Rollup, func(i, j int) bool { return d.Rollup[i].Table < d.Rollup[j].Table })
		users, ok, err := warehouse.UsersOutsideDomain(ctx, wh, t.ID, t.Domain)
		if err != nil {
			v.Log.Warn("users outside the domain unavailable", "tenant", slug, "error", err)
		} else if ok {
			d.OutsideDomain, d.DomainChecked = users, true
		}
	}
	hist, err := audit.History(ctx, v.Store, 20)
	if err != nil {
		return d, err
	}
	for _, h := range hist {
		if h.Scope != "" && h.Scope != slug {
			continue
		}
		d.AuditRun = &h
		vs, err := audit.RunViolations(ctx, v.Store, h.ID)
		if err != nil {
			return d, err
		}
		for _, viol := range vs {
			if viol.Tenant == slug {
				d.AuditViolations = append(d.AuditViolations, viol)
			}
		}
		break
	}
	return d, nil
}

// CustomerReport builds the customer's report from the warehouse (an error when none is
// registered).
func (v *View) CustomerReport(ctx context.Context, t catalog.Tenant) (report.Report, error) {
	wh, err := v.Warehouse.Pool(ctx)
	if err != nil {
		return report.Report{}, err
	}
	return report.Build(ctx, wh, v.Report, report.Tenant{ID: t.ID, Slug: t.Slug, Name: t.Name, Domain: t.Domain})
}
