// Package warehouse is `tenantctl warehouse`: register the MSP-only warehouse database,
// print and change its DSN.
package warehouse

import (
	"context"

	"github.com/spf13/cobra"

	"github.com/tenantctl/tenantctl/catalog"
	"github.com/tenantctl/tenantctl/cli/cmdutil"
	"github.com/tenantctl/tenantctl/internal/validate"
	"github.com/tenantctl/tenantctl/provisioner"
)

// NewCmdWarehouse is `tenantctl warehouse`.
func NewCmdWarehouse(f *cmdutil.Factory) *cobra.Command {
	cmd := &cobra.Command{Use: "warehouse", Short: "Register the MSP-only warehouse database and print its DSN"}
	cmd.AddCommand(NewCmdInit(f, nil), NewCmdDSN(f, nil), NewCmdSet(f, nil))
	return cmd
}

// InitOptions are `warehouse init`'s.
type InitOptions struct {
	Factory      *cmdutil.Factory
	DSN, DSNFile string
}

// NewCmdInit is `warehouse init`; runF, when not nil, replaces the run.
func NewCmdInit(f *cmdutil.Factory, runF func(context.Context, *InitOptions) error) *cobra.Command {
	opts := &InitOptions{Factory: f}
	cmd := &cobra.Command{
		Use:     "init --dsn DSN",
		Example: "  tenantctl warehouse init --dsn-file /etc/tenantctl/warehouse.dsn\n  printf '%s' \"$WAREHOUSE_DSN\" | tenantctl warehouse init --dsn -",
		Short:   "Register and migrate the warehouse, and close it to PUBLIC (idempotent)",
		Args:    cmdutil.NoArgs,
		RunE:    cmdutil.RunE(opts, runF, runInit, nil),
	}
	cmd.Flags().StringVar(&opts.DSN, "dsn", "", "warehouse database connection string (required; '-' reads it from stdin)")
	cmd.Flags().StringVar(&opts.DSNFile, "dsn-file", "", "read the warehouse connection string from this file instead")
	return cmd
}

func runInit(ctx context.Context, opts *InitOptions) error {
	f := opts.Factory
	dsn, err := f.ReadDSN(opts.DSN, opts.DSNFile)
	if err != nil {
		return err
	}
	return f.WithProvisioner(ctx, func(p *provisioner.Provisioner) error {
		w, err := p.InitWarehouse(ctx, dsn)
		if err != nil {
			return err
		}
		return f.PrintResult(w, "warehouse %s:%d/%s registered\n", w.Host, w.Port, w.Database)
	})
}

// DSNOptions are `warehouse dsn`'s: it takes no flags.
type DSNOptions struct {
	Factory *cmdutil.Factory
}

// NewCmdDSN is `warehouse dsn`; runF, when not nil, replaces the run.
func NewCmdDSN(f *cmdutil.Factory, runF func(context.Context, *DSNOptions) error) *cobra.Command {
	opts := &DSNOptions{Factory: f}
	return &cobra.Command{
		Use:   "dsn",
		Short: "Print the warehouse's connection string (it holds a password)",
		Long: `Print the DSN of the registered warehouse, to query it with psql or a BI tool. Like
'tenant dsn' and 'access dsn' it prints a secret: keep it off shared screens and logs.`,
		Example: `  psql "$(tenantctl warehouse dsn)" -c 'SELECT slug, state FROM tenantctl.tenants'`,
		Args:    cmdutil.NoArgs,
		RunE:    cmdutil.RunE(opts, runF, runDSN, nil),
	}
}

func runDSN(ctx context.Context, opts *DSNOptions) error {
	f := opts.Factory
	return f.WithStore(ctx, func(store *catalog.Store) error {
		dsn, err := store.WarehouseDSN(ctx)
		if err != nil {
			return err
		}
		return f.PrintResult(map[string]string{"dsn": dsn}, "%s\n", dsn)
	})
}

// SetOptions are `warehouse set`'s.
type SetOptions struct {
	Factory  *cmdutil.Factory
	DSNFile  string
	DSNStdin bool
}

// NewCmdSet is `warehouse set`; runF, when not nil, replaces the run.
func NewCmdSet(f *cmdutil.Factory, runF func(context.Context, *SetOptions) error) *cobra.Command {
	opts := &SetOptions{Factory: f}
	cmd := &cobra.Command{
		Use:   "set --dsn-file FILE | --dsn-stdin",
		Short: "Change the warehouse's DSN after checking it reaches the same warehouse",
		Long: `Change the registered warehouse's connection string (a rotated password, a new host
name after a failover). The new DSN must reach the same database of the same server —
the same system identifier (pg_control_system()) and database oid as through the old DSN
or, when the old one no longer connects, a database holding tenantctl's warehouse
schema. Another database is refused (exit 2) and nothing changes. The old DSN is
forgotten: the catalog keeps only the new one, sealed.`,
		Example: `  tenantctl warehouse set --dsn-file /etc/tenantctl/warehouse.dsn
  printf '%s' "$WAREHOUSE_DSN" | tenantctl warehouse set --dsn-stdin`,
		Args: cmdutil.NoArgs,
		RunE: cmdutil.RunE(opts, runF, runSet, nil),
	}
	cmd.Flags().StringVar(&opts.DSNFile, "dsn-file", "", "read the new connection string from this file")
	cmd.Flags().BoolVar(&opts.DSNStdin, "dsn-stdin", false, "read the new connection string from stdin")
	return cmd
}

func runSet(ctx context.Context, opts *SetOptions) error {
	f := opts.Factory
	dsn, err := cmdutil.ReadDSNSource(f.IO.In, opts.DSNFile, opts.DSNStdin)
	if err != nil {
		return err
	}
	if dsn == "" {
		return validate.Errorf("nothing to set: pass --dsn-file FILE or --dsn-stdin")
	}
	return f.WithProvisioner(ctx, func(p *provisioner.Provisioner) error {
		w, err := p.SetWarehouseDSN(ctx, dsn)
		if err != nil {
			return err
		}
		return f.PrintResult(w, "warehouse DSN changed (%s:%d/%s, same warehouse); the old DSN is forgotten\n", w.Host, w.Port, w.Database)
	})
}
