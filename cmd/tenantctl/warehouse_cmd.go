package main

import (
	"fmt"

	"github.com/spf13/cobra"

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
	cmd.AddCommand(initCmd, a.warehouseDSNCmd())
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
