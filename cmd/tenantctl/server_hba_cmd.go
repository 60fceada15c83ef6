package main

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/spf13/cobra"

	"github.com/tenantctl/tenantctl/internal/pghba"
	"github.com/tenantctl/tenantctl/internal/validate"
	"github.com/tenantctl/tenantctl/provisioner"
	"github.com/tenantctl/tenantctl/tenantdb"
)

func (a *app) serverHBACmd() *cobra.Command {
	var method string
	var check bool
	cmd := &cobra.Command{
		Use:   "hba NAME [--check]",
		Short: "Print the pg_hba.conf lines that confine tenant logins to their own database",
		Long: `Print the pg_hba.conf lines that confine every tenant and MSP access login on a
server to its own database, for a superuser to place FIRST in the server's pg_hba.conf
(then SELECT pg_reload_conf()).

Privileges alone leave every login able to open postgres and template1, where PUBLIC
holds CONNECT by default and a least-privilege admin cannot revoke it; anything built
there (a foreign server, a view) is within reach of every tenant. The lines let a
tenant login open only the database named like its group role — its own — and reject
every other database. They also reject tenant logins for the replication
pseudo-database and for every database named like one of tenantctl's shared roles
(tenantctl_logins, tenantctl_template_owner, the admin role): "samerole" would open a
database named tenantctl_logins to every tenant login. They name no tenant, so tenants
created later are covered without editing the file again. The registered admin role
comes first and keeps its access; superusers are unaffected.

--check compares the server's effective rules (pg_hba_file_rules, as the server parses
its pg_hba.conf now) with the printed lines and says what differs: printed lines that
are missing, rules before them that match tenant logins, rules that let a tenant login,
the admin or a superuser in without a password (trust, ident). Exit status 0: the same;
3: they differ; 1: the rules cannot be read — the admin role needs, from a superuser:
  GRANT SELECT ON pg_catalog.pg_hba_file_rules TO <admin>;
  GRANT EXECUTE ON FUNCTION pg_catalog.pg_hba_file_rules() TO <admin>;
'tenantctl audit' makes the same comparison (check server.hba) and probes with wrong
passwords and tenant credentials.`,
		Example: `  tenantctl server hba pg-a > tenantctl-hba.conf
  # as the server's operator: put those lines at the top of pg_hba.conf, then
  psql -c 'SELECT pg_reload_conf()'
  tenantctl server hba pg-a --check`,
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
			if check {
				adminMethod := ""
				if cmd.Flags().Changed("admin-method") {
					adminMethod = method
				}
				return a.checkServerHBA(cmd, srv.Name, adminMethod)
			}
			fmt.Fprint(a.out, tenantdb.HBALines(srv.AdminRole, method))
			return nil
		},
	}
	cmd.Flags().BoolVar(&check, "check", false, "compare the server's effective pg_hba.conf rules with the printed lines (exit 0 same, 3 different, 1 unreadable)")
	cmd.Flags().StringVar(&method, "admin-method", "scram-sha-256", "authentication method of the admin role's lines (what the server uses for it today; --check finds it on the server unless given)")
	return cmd
}

// hbaCheck is what 'server hba --check -o json' prints.
type hbaCheck struct {
	Server      string         `json:"server"`
	Same        bool           `json:"same"`
	Differences []string       `json:"differences"`
	Rules       []pghba.Rule   `json:"rules"`
	Analysis    pghba.Analysis `json:"analysis"`
}

// checkServerHBA compares the server's effective rules with the printed lines.
func (a *app) checkServerHBA(cmd *cobra.Command, name, adminMethod string) error {
	return a.withStore(cmd, func(p *provisioner.Provisioner) error {
		ctx := cmd.Context()
		srv, err := p.Server(ctx, name)
		if err != nil {
			return err
		}
		rules, err := srv.HBARules(ctx)
		if err != nil {
			return err
		}
		snap, err := srv.Snapshot(ctx)
		if err != nil {
			return err
		}
		var supers []string
		for role, r := range snap.Roles {
			if r.Superuser && r.CanLogin {
				supers = append(supers, role)
			}
		}
		sort.Strings(supers)
		o := pghba.CheckOptions{AdminRole: srv.AdminRole(), AdminMethod: adminMethod, Superusers: supers}
		out := hbaCheck{Server: name, Rules: rules, Analysis: pghba.Check(rules, o), Differences: pghba.Diff(rules, o)}
		if out.Rules == nil {
			out.Rules = []pghba.Rule{}
		}
		if out.Differences == nil {
			out.Differences = []string{}
		}
		out.Same = len(out.Differences) == 0
		if a.jsonOutput() {
			if err := a.printJSON(out); err != nil {
				return err
			}
		} else if out.Same {
			fmt.Fprintf(a.out, "server %s: the effective pg_hba.conf rules hold the lines of 'tenantctl server hba %s' first, and nothing around them lets a login in without its password\n", name, name)
		} else {
			fmt.Fprintf(a.out, "server %s: the effective pg_hba.conf rules differ from the lines of 'tenantctl server hba %s':\n", name, name)
			for _, d := range out.Differences {
				fmt.Fprintf(a.out, "  %s\n", d)
			}
		}
		if !out.Same {
			return &codeError{code: exitViolations, err: errSilent}
		}
		return nil
	})
}
