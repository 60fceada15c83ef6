package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/tenantctl/tenantctl/catalog"
	"github.com/tenantctl/tenantctl/internal/cmd/cmdutil"
	"github.com/tenantctl/tenantctl/internal/validate"
	"github.com/tenantctl/tenantctl/provisioner"
)

func (a *app) serverCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "server", Short: "Register and manage the PostgreSQL servers that hold tenant databases"}

	var add provisioner.AddServerOptions
	var dsnFile string
	addCmd := &cobra.Command{
		Use:   "add NAME --dsn DSN [--capacity N] [--label k=v]...",
		Short: "Register a server (needs a role with CREATEDB and CREATEROLE; superuser is not required)",
		Long: `Register a PostgreSQL server (14 or newer) that will hold tenant databases.

The DSN's role needs LOGIN, CREATEDB and CREATEROLE; it does not need to be a superuser.
tenantctl connects to verify that, then stores the DSN encrypted in the catalog. Pass
--dsn - (stdin) or --dsn-file to keep the password out of the process list.

The DSN may also bound how long tenantctl waits on this server: connect_timeout (10 s),
liveness_interval and liveness_timeout (10s, 5s: a statement waiting that long for a
reply makes tenantctl check the server still answers, and gives up if it is silent),
statement_grace (30s past statement_timeout). See docs/guarantees.md, Timeouts.`,
		Example: `  # the DSN (with its password) from a file or stdin, never on the command line
  tenantctl server add pg-a --dsn-file /etc/tenantctl/pg-a.dsn --capacity 500 --label zone=eu1
  vault kv get -field=dsn secret/pg-b | tenantctl server add pg-b --dsn -
  # a server across a slow link, its DSN ending in ?liveness_timeout=15s: more
  # patience before it counts as stopped
  tenantctl server add pg-c --dsn-file /etc/tenantctl/pg-c.dsn`,
		Args: cmdutil.ExactArgs(1, "a server NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			add.Name = args[0]
			var err error
			if add.DSN, err = a.ReadDSN(add.DSN, dsnFile); err != nil {
				return err
			}
			if _, err := add.Validate(); err != nil {
				return err
			}
			p, done, err := a.Provisioner(cmd.Context())
			if err != nil {
				return err
			}
			defer done()
			srv, err := p.AddServer(cmd.Context(), add)
			if err != nil {
				return err
			}
			if a.JSONOutput() {
				return a.PrintJSON(srv)
			}
			fmt.Fprintf(a.IO.Out, "server %s registered (%s:%d, PostgreSQL %d, role %s, capacity %d)\n",
				srv.Name, srv.Host, srv.Port, srv.VersionNum/10000, srv.AdminRole, srv.Capacity)
			return nil
		},
	}
	addCmd.Flags().StringVar(&add.DSN, "dsn", "", "admin connection string (required; '-' reads it from stdin, keeping the password out of ps)")
	addCmd.Flags().StringVar(&dsnFile, "dsn-file", "", "read the admin connection string from this file instead")
	addCmd.Flags().IntVar(&add.Capacity, "capacity", 1000, "most tenants this server may hold")
	addCmd.Flags().StringArrayVar(&add.Labels, "label", nil, "label k=v, repeatable; tenants created with matching --label land here")
	addCmd.Flags().IntVar(&add.Spares, "spares", 0, "spare databases to keep ready for instant tenant creation (warm pool; filled by reconcile and the scheduler)")
	addCmd.Flags().StringVar(&add.CloneStrategy, "clone-strategy", "file_copy", "how tenant databases are cloned from the template: file_copy or wal_log")
	cmd.AddCommand(addCmd, a.serverSetCmd(), a.serverRefillCmd())
	cmd.AddCommand(a.serverHBACmd())
	cmd.AddCommand(a.serverEvacuateCmd()) // data mobility: move_cmd.go

	cmd.AddCommand(&cobra.Command{
		Use:   "list",
		Short: "List registered servers with their tenant counts",
		Args:  cmdutil.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			store, err := a.Store(cmd.Context())
			if err != nil {
				return err
			}
			defer store.Close()
			servers, err := store.ListServers(cmd.Context())
			if err != nil {
				return err
			}
			return a.printServers(servers)
		},
	})
	for _, v := range []struct {
		use, short string
		fn         func(cmd *cobra.Command, name string) error
	}{
		{"drain", "Stop placing new tenants on a server", func(cmd *cobra.Command, name string) error {
			return a.withStore(cmd, func(p *provisioner.Provisioner) error { return p.Store.SetDraining(cmd.Context(), name, true) })
		}},
		{"undrain", "Place new tenants on a drained server again", func(cmd *cobra.Command, name string) error {
			return a.withStore(cmd, func(p *provisioner.Provisioner) error { return p.Store.SetDraining(cmd.Context(), name, false) })
		}},
		{"remove", "Unregister a server that holds no tenants (its spare databases are dropped)", func(cmd *cobra.Command, name string) error {
			return a.withStore(cmd, func(p *provisioner.Provisioner) error { return p.RemoveServer(cmd.Context(), name) })
		}},
	} {
		cmd.AddCommand(&cobra.Command{
			Use:   v.use + " NAME",
			Short: v.short,
			Args:  cmdutil.ExactArgs(1, "a server NAME"),
			RunE: func(cmd *cobra.Command, args []string) error {
				if err := v.fn(cmd, args[0]); err != nil {
					return err
				}
				fmt.Fprintf(a.IO.Out, "server %s: %s done\n", args[0], v.use)
				return nil
			},
		})
	}
	return cmd
}

func (a *app) withStore(cmd *cobra.Command, fn func(p *provisioner.Provisioner) error) error {
	p, done, err := a.Provisioner(cmd.Context())
	if err != nil {
		return err
	}
	defer done()
	return fn(p)
}

func (a *app) printServers(servers []catalog.Server) error {
	if a.JSONOutput() {
		return a.PrintJSON(servers)
	}
	tw := a.Table("NAME", "HOST", "TENANTS", "SPARES", "CAPACITY", "DRAINING", "LABELS", "TEMPLATE")
	for _, s := range servers {
		tmpl := "-"
		if s.TemplateVersion != nil {
			tmpl = fmt.Sprintf("v%d", *s.TemplateVersion)
		}
		cmdutil.Row(tw, s.Name, fmt.Sprintf("%s:%d", s.Host, s.Port), s.Tenants, fmt.Sprintf("%d/%d", s.SparesReady, s.Spares), s.Capacity, s.Draining, validate.FormatLabels(s.Labels), tmpl)
	}
	return tw.Flush()
}
