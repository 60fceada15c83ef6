package main

import (
	"fmt"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/tenantctl/tenantctl/internal/validate"
	"github.com/tenantctl/tenantctl/tenantdb"
)

func (a *app) serverHBACmd() *cobra.Command {
	var method string
	cmd := &cobra.Command{
		Use:   "hba NAME",
		Short: "Print the pg_hba.conf lines that confine tenant logins to their own database",
		Long: `Print the pg_hba.conf lines that confine every tenant and MSP access login on a
server to its own database, for a superuser to place FIRST in the server's pg_hba.conf
(then SELECT pg_reload_conf()).

Privileges alone leave every login able to open postgres and template1, where PUBLIC
holds CONNECT by default and a least-privilege admin cannot revoke it; anything built
there (a foreign server, a view) is within reach of every tenant. The lines let a
tenant login open only the database named like its group role — its own — and reject
every other database. They name no tenant, so tenants created later are covered
without editing the file again. The registered admin role comes first and keeps its
access; superusers are unaffected. 'tenantctl audit' probes postgres and template1
with tenant credentials and reports servers where the lines are missing.`,
		Example: `  tenantctl server hba pg-a > tenantctl-hba.conf
  # as the server's operator: put those lines at the top of pg_hba.conf, then
  psql -c 'SELECT pg_reload_conf()'`,
		Args: exactArgs(1, "a server NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if !slices.Contains(tenantdb.HBAMethods, method) {
				return validate.Errorf("invalid --admin-method %q: use one of %s", method, strings.Join(tenantdb.HBAMethods, ", "))
			}
			store, err := a.store(cmd.Context())
			if err != nil {
				return err
			}
			defer store.Close()
			srv, err := store.GetServer(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			fmt.Fprint(a.out, tenantdb.HBALines(srv.AdminRole, method))
			return nil
		},
	}
	cmd.Flags().StringVar(&method, "admin-method", "scram-sha-256", "authentication method of the admin role's lines (what the server uses for it today)")
	return cmd
}
