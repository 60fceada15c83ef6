package main

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/tenantctl/tenantctl/catalog"
	"github.com/tenantctl/tenantctl/provisioner"
)

// allowDatabaseFlags are the --allow-database and --disallow-database flags of
// 'server set', which declare the operator's own databases on a server.
type allowDatabaseFlags struct {
	allow, disallow []string
}

func addAllowDatabaseFlags(cmd *cobra.Command) *allowDatabaseFlags {
	f := &allowDatabaseFlags{}
	cmd.Flags().StringArrayVar(&f.allow, "allow-database", nil, "declare a database of yours on the server that accepts connections (repeatable): the audit stops reporting it as unknown and still probes it")
	cmd.Flags().StringArrayVar(&f.disallow, "disallow-database", nil, "withdraw the declaration of a database (repeatable)")
	return f
}

func allowDatabaseFlagsChanged(cmd *cobra.Command) bool {
	return cmd.Flags().Changed("allow-database") || cmd.Flags().Changed("disallow-database")
}

// setAllowedDatabases records the declarations, after checking every name first, so
// that bad input changes nothing.
func (a *app) setAllowedDatabases(cmd *cobra.Command, server string, f *allowDatabaseFlags) error {
	for _, db := range append(append([]string{}, f.allow...), f.disallow...) {
		if err := catalog.ValidDatabaseName(db); err != nil {
			return err
		}
	}
	return a.withStore(cmd, func(p *provisioner.Provisioner) error {
		ctx := cmd.Context()
		if len(f.allow) > 0 {
			if err := p.Store.AllowDatabases(ctx, server, f.allow, true); err != nil {
				return err
			}
			fmt.Fprintf(a.out, "server %s: declared %s (the audit still probes them with tenant credentials)\n", server, strings.Join(f.allow, ", "))
		}
		if len(f.disallow) > 0 {
			if err := p.Store.AllowDatabases(ctx, server, f.disallow, false); err != nil {
				return err
			}
			fmt.Fprintf(a.out, "server %s: no longer declared: %s\n", server, strings.Join(f.disallow, ", "))
		}
		return nil
	})
}
