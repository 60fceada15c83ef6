package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/tenantctl/tenantctl/catalog"
	"github.com/tenantctl/tenantctl/internal/cmd/cmdutil"
)

func (a *app) catalogCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "catalog", Short: "Create, upgrade and inspect the catalog database"}
	cmd.AddCommand(&cobra.Command{
		Use:   "init",
		Short: "Create or upgrade the catalog schema (idempotent, safe to run concurrently)",
		Args:  cmdutil.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			v, err := catalog.Init(cmd.Context(), a.CatalogDSN())
			if err != nil {
				return err
			}
			if box, err := a.Box(); err != nil {
				return err
			} else if box != nil {
				store, err := catalog.Open(cmd.Context(), a.CatalogDSN(), box)
				if err != nil {
					return err
				}
				defer store.Close()
				if _, err := store.Box(cmd.Context()); err != nil {
					return err
				}
			}
			fmt.Fprintf(a.IO.Out, "catalog schema at version %d\n", v)
			return nil
		},
	})
	cmd.AddCommand(&cobra.Command{
		Use:   "status",
		Short: "Show the catalog's schema version, servers, tenants by state and warehouse",
		Args:  cmdutil.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			// Through a.Store: a configured key that is not the catalog's is refused here
			// too, though status decrypts nothing.
			store, err := a.Store(cmd.Context())
			if err != nil {
				return err
			}
			defer store.Close()
			st, err := store.Status(cmd.Context())
			if err != nil {
				return err
			}
			if a.JSONOutput() {
				return a.PrintJSON(st)
			}
			fmt.Fprintf(a.IO.Out, "schema version: %d (latest %d)\n", st.SchemaVersion, st.LatestVersion)
			fmt.Fprintf(a.IO.Out, "servers:        %d\n", st.Servers)
			total := 0
			for _, n := range st.Tenants {
				total += n
			}
			fmt.Fprintf(a.IO.Out, "tenants:        %d", total)
			for _, s := range []string{"provisioning", "active", "suspended", "deleting", "failed", "purged"} {
				if n := st.Tenants[s]; n > 0 {
					fmt.Fprintf(a.IO.Out, "  %s=%d", s, n)
				}
			}
			fmt.Fprintln(a.IO.Out)
			if st.Warehouse != nil {
				fmt.Fprintf(a.IO.Out, "warehouse:      %s:%d/%s\n", st.Warehouse.Host, st.Warehouse.Port, st.Warehouse.Database)
			} else {
				fmt.Fprintln(a.IO.Out, "warehouse:      not registered")
			}
			return nil
		},
	})
	return cmd
}
