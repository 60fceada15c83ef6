// Package catalog is `tenantctl catalog`: create, upgrade and inspect the catalog database.
package catalog

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	cataloglib "github.com/tenantctl/tenantctl/catalog"
	"github.com/tenantctl/tenantctl/cli/cmdutil"
)

// Options are those of `catalog init` and `catalog status`: they take no flags.
type Options struct {
	Factory *cmdutil.Factory
}

// NewCmdCatalog is `tenantctl catalog`.
func NewCmdCatalog(f *cmdutil.Factory) *cobra.Command {
	cmd := &cobra.Command{Use: "catalog", Short: "Create, upgrade and inspect the catalog database"}
	cmd.AddCommand(NewCmdInit(f, nil), NewCmdStatus(f, nil))
	return cmd
}

// newCmd is `catalog init` or `catalog status`: no arguments, no flags of their own.
func newCmd(f *cmdutil.Factory, use, short, example string, runF, run func(context.Context, *Options) error) *cobra.Command {
	opts := &Options{Factory: f}
	return &cobra.Command{
		Use:     use,
		Short:   short,
		Example: example,
		Args:    cmdutil.NoArgs,
		RunE:    cmdutil.RunE(opts, runF, run, nil),
	}
}

// NewCmdInit is `catalog init`; runF, when not nil, replaces the run.
func NewCmdInit(f *cmdutil.Factory, runF func(context.Context, *Options) error) *cobra.Command {
	return newCmd(f, "init", "Create or upgrade the catalog schema (idempotent, safe to run concurrently)",
		"  export TENANTCTL_CATALOG_DSN='postgres://tenantctl@catalog.internal/catalog?sslmode=verify-full'   # password in ~/.pgpass\n  tenantctl catalog init",
		runF, runInit)
}

func runInit(ctx context.Context, opts *Options) error {
	f := opts.Factory
	v, err := cataloglib.Init(ctx, f.CatalogDSN())
	if err != nil {
		return err
	}
	if box, err := f.Box(); err != nil {
		return err
	} else if box != nil {
		store, err := cataloglib.Open(ctx, f.CatalogDSN(), box)
		if err != nil {
			return err
		}
		defer store.Close()
		if _, err := store.Box(ctx); err != nil {
			return err
		}
	}
	fmt.Fprintf(f.IO.Out, "catalog schema at version %d\n", v)
	return nil
}

// NewCmdStatus is `catalog status`; runF, when not nil, replaces the run.
func NewCmdStatus(f *cmdutil.Factory, runF func(context.Context, *Options) error) *cobra.Command {
	return newCmd(f, "status", "Show the catalog's schema version, servers, tenants by state and warehouse",
		"  tenantctl catalog status\n  tenantctl catalog status -o json", runF, runStatus)
}

func runStatus(ctx context.Context, opts *Options) error {
	f := opts.Factory
	// Through f.Store: a configured key that is not the catalog's is refused here too,
	// though status decrypts nothing.
	var st cataloglib.Status
	err := f.WithStore(ctx, func(store *cataloglib.Store) error {
		var err error
		st, err = store.Status(ctx)
		return err
	})
	if err != nil {
		return err
	}
	if f.Structured() {
		return f.PrintStructured(st)
	}
	out := f.IO.Out
	fmt.Fprintf(out, "schema version: %d (latest %d)\n", st.SchemaVersion, st.LatestVersion)
	fmt.Fprintf(out, "servers:        %d\n", st.Servers)
	total := 0
	for _, n := range st.Tenants {
		total += n
	}
	fmt.Fprintf(out, "tenants:        %d", total)
	for _, s := range []string{"provisioning", "active", "suspended", "deleting", "failed", "purged"} {
		if n := st.Tenants[s]; n > 0 {
			fmt.Fprintf(out, "  %s=%d", s, n)
		}
	}
	fmt.Fprintln(out)
	if st.Warehouse != nil {
		fmt.Fprintf(out, "warehouse:      %s:%d/%s\n", st.Warehouse.Host, st.Warehouse.Port, st.Warehouse.Database)
	} else {
		fmt.Fprintln(out, "warehouse:      not registered")
	}
	return nil
}
