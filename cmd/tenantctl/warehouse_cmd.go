package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/tenantctl/tenantctl/provisioner"
)

func (a *app) warehouseCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "warehouse", Short: "Register the MSP-only warehouse database"}
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
	cmd.AddCommand(initCmd)
	return cmd
}
