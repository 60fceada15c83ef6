package main

import (
	"bufio"
	"context"
	"encoding/json"

	"github.com/tenantctl/tenantctl/catalog"
)

// streamTenants prints the tenants matching f as the catalog returns them: JSON is
// written row by row (memory stays flat at any fleet size); text goes through one
// aligned table.
func (a *app) streamTenants(ctx context.Context, store *catalog.Store, f catalog.TenantFilter) error {
	if !a.jsonOutput() {
		tw := a.table("SLUG", "NAME", "DOMAIN", "STATE", "SERVER", "DATABASE", "VERSION")
		if err := store.EachTenant(ctx, f, func(t catalog.Tenant) error {
			row(tw, t.Slug, t.Name, t.Domain, t.State, t.Server, t.Database, t.SchemaVersion)
			return nil
		}); err != nil {
			return err
		}
		return tw.Flush()
	}
	w := bufio.NewWriterSize(a.out, 64<<10)
	first := true
	if _, err := w.WriteString("["); err != nil {
		return err
	}
	err := store.EachTenant(ctx, f, func(t catalog.Tenant) error {
		b, err := json.Marshal(t)
		if err != nil {
			return err
		}
		sep := ",\n  "
		if first {
			first, sep = false, "\n  "
		}
		if _, err := w.WriteString(sep); err != nil {
			return err
		}
		_, err = w.Write(b)
		return err
	})
	if err != nil {
		return err
	}
	end := "]\n"
	if !first {
		end = "\n]\n"
	}
	if _, err := w.WriteString(end); err != nil {
		return err
	}
	return w.Flush()
}
