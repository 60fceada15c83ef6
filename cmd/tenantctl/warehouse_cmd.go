package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/tenantctl/tenantctl/internal/validate"
	"github.com/tenantctl/tenantctl/provisioner"
)

func (a *app) warehouseCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "warehouse", Short: "Register the MSP-only warehouse database and print its DSN"}
	var dsn, dsnFile string
	initCmd := &cobra.Command{
		Use:   "init --dsn DSN",
		Short: "Register and migrate the warehouse, and close it to PUBLIC (idempotent)",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			dsn, err := a.readDSN(dsn, dsnFile)
			if err != nil {
				return err
			}
			return a.withStore(cmd, func(p *provisioner.Provisioner) error {
				w, err := p.InitWarehouse(cmd.Context(), dsn)
				if err != nil {
					return err
				}
				if a.jsonOutput() {
					return a.printJSON(w)
				}
				fmt.Fprintf(a.out, "warehouse %s:%d/%s registered\n", w.Host, w.Port, w.Database)
				return nil
			})
		},
	}
	initCmd.Flags().StringVar(&dsn, "dsn", "", "warehouse database connection string (required; '-' reads it from stdin)")
	initCmd.Flags().StringVar(&dsnFile, "dsn-file", "", "read the warehouse connection string from this file instead")
	cmd.AddCommand(initCmd, a.warehouseDSNCmd(), a.warehouseSetCmd())
	return cmd
}

func (a *app) warehouseDSNCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "dsn",
		Short: "Print the warehouse's connection string (it holds a password)",
		Long: `Print the DSN of the registered warehouse, to query it with psql or a BI tool. Like
'tenant dsn' and 'access dsn' it prints a secret: keep it off shared screens and logs.`,
		Example: `  psql "$(tenantctl warehouse dsn)" -c 'SELECT slug, state FROM tenantctl.tenants'`,
		Args:    noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			store, err := a.store(cmd.Context())
			if err != nil {
				return err
			}
			defer store.Close()
			dsn, err := store.WarehouseDSN(cmd.Context())
			if err != nil {
				return err
			}
			if a.jsonOutput() {
				return a.printJSON(map[string]string{"dsn": dsn})
			}
			fmt.Fprintln(a.out, dsn)
			return nil
		},
	}
}

func (a *app) warehouseSetCmd() *cobra.Command {
	var dsnFile string
	var dsnStdin bool
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
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			dsn, err := readDSNSource(a.in, dsnFile, dsnStdin)
			if err != nil {
				return err
			}
			if dsn == "" {
				return validate.Errorf("nothing to set: pass --dsn-file FILE or --dsn-stdin")
			}
			return a.withStore(cmd, func(p *provisioner.Provisioner) error {
				w, err := p.SetWarehouseDSN(cmd.Context(), dsn)
				if err != nil {
					return err
				}
				if a.jsonOutput() {
					return a.printJSON(w)
				}
				fmt.Fprintf(a.out, "warehouse DSN changed (%s:%d/%s, same warehouse); the old DSN is forgotten\n", w.Host, w.Port, w.Database)
				return nil
			})
		},
	}
	cmd.Flags().StringVar(&dsnFile, "dsn-file", "", "read the new connection string from this file")
	cmd.Flags().BoolVar(&dsnStdin, "dsn-stdin", false, "read the new connection string from stdin")
	return cmd
}
