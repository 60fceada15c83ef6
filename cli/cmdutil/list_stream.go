package cmdutil

import (
	"bufio"
	"context"
	"strconv"

	"github.com/tenantctl/tenantctl/catalog"
)

// StreamTenants prints the tenants matching f as the catalog returns them: JSON is
// written row by row without reflection (memory stays flat at any fleet size); text
// goes through one aligned table.
func (f *Factory) StreamTenants(ctx context.Context, store *catalog.Store, filter catalog.TenantFilter) error {
	if !f.Structured() {
		tw := f.AlignedTable("SLUG", "NAME", "DOMAIN", "STATE", "SERVER", "DATABASE", "VERSION")
		if err := store.EachTenant(ctx, filter, func(t catalog.Tenant) error {
			tw.Row(t.Slug, t.Name, t.Domain, t.State, t.Server, t.Database, strconv.FormatInt(t.SchemaVersion, 10))
			return nil
		}); err != nil {
			return err
		}
		return tw.Flush()
	}
	if f.Flags.Output == OutputYAML {
		// YAML is not streamed: the same fields as -o json, through printStructured.
		tenants := []catalog.Tenant{}
		if err := store.EachTenant(ctx, filter, func(t catalog.Tenant) error {
			tenants = append(tenants, t)
			return nil
		}); err != nil {
			return err
		}
		return f.PrintStructured(tenants)
	}
	w := bufio.NewWriterSize(f.IO.Out, 64<<10)
	first := true
	if _, err := w.WriteString("["); err != nil {
		return err
	}
	var b []byte
	err := store.EachTenant(ctx, filter, func(t catalog.Tenant) error {
		b = b[:0]
		if first {
			first, b = false, append(b, "\n  "...)
		} else {
			b = append(b, ",\n  "...)
		}
		b = t.AppendJSON(b)
		_, err := w.Write(b)
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

// PrintJSONRows prints n rows as one JSON array, one compact object per line, each
// appended by add without reflection (the same shape StreamTenants writes).
func (f *Factory) PrintJSONRows(n int, add func(b []byte, i int) []byte) error {
	w := bufio.NewWriterSize(f.IO.Out, 64<<10)
	b := make([]byte, 0, 1024)
	b = append(b, '[')
	for i := range n {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, "\n  "...)
		b = add(b, i)
		if _, err := w.Write(b); err != nil {
			return err
		}
		b = b[:0]
	}
	if n > 0 {
		b = append(b, '\n')
	}
	b = append(b, "]\n"...)
	if _, err := w.Write(b); err != nil {
		return err
	}
	return w.Flush()
}
