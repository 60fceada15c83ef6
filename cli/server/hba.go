package server

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/spf13/cobra"

	"github.com/tenantctl/tenantctl/catalog"
	"github.com/tenantctl/tenantctl/cli/cmdutil"
	"github.com/tenantctl/tenantctl/internal/pghba"
	"github.com/tenantctl/tenantctl/internal/validate"
	"github.com/tenantctl/tenantctl/provisioner"
	"github.com/tenantctl/tenantctl/tenantdb"
)

// HBAOptions are `server hba`'s.
type HBAOptions struct {
	Factory *cmdutil.Factory
	Name    string
	Check   bool
	// AdminMethod is the admin role's authentication method; SetAdminMethod is true
	// when --admin-method was given (--check otherwise finds it on the server).
	AdminMethod    string
	SetAdminMethod bool
}

// NewCmdHBA is `server hba`; runF, when not nil, replaces the run.
func NewCmdHBA(f *cmdutil.Factory, runF func(context.Context, *HBAOptions) error) *cobra.Command {
	opts := &HBAOptions{Factory: f}
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
		Args: cmdutil.ExactArgs(1, "a server NAME"),
		RunE: cmdutil.RunE(opts, runF, runHBA, func(cmd *cobra.Command, args []string) error {
			opts.Name, opts.SetAdminMethod = args[0], cmd.Flags().Changed("admin-method")
			if !slices.Contains(tenantdb.HBAMethods, opts.AdminMethod) {
				return validate.Errorf("invalid --admin-method %q: use one of %s", opts.AdminMethod, strings.Join(tenantdb.HBAMethods, ", "))
			}
			return nil
		}),
	}
	cmd.Flags().BoolVar(&opts.Check, "check", false, "compare the server's effective pg_hba.conf rules with the printed lines (exit 0 same, 3 different, 1 unreadable)")
	cmd.Flags().StringVar(&opts.AdminMethod, "admin-method", "scram-sha-256", "authentication method of the admin role's lines (what the server uses for it today; --check finds it on the server unless given)")
	return cmd
}

func runHBA(ctx context.Context, opts *HBAOptions) error {
	f := opts.Factory
	return f.WithStore(ctx, func(store *catalog.Store) error {
		srv, err := store.GetServer(ctx, opts.Name)
		if err != nil {
			return err
		}
		if opts.Check {
			adminMethod := ""
			if opts.SetAdminMethod {
				adminMethod = opts.AdminMethod
			}
			return checkServerHBA(ctx, f, srv.Name, adminMethod)
		}
		fmt.Fprint(f.IO.Out, tenantdb.HBALines(srv.AdminRole, opts.AdminMethod))
		return nil
	})
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
func checkServerHBA(ctx context.Context, f *cmdutil.Factory, name, adminMethod string) error {
	return f.WithProvisioner(ctx, func(p *provisioner.Provisioner) error {
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
		if f.Structured() {
			if err := f.PrintStructured(out); err != nil {
				return err
			}
		} else if out.Same {
			fmt.Fprintf(f.IO.Out, "server %s: the effective pg_hba.conf rules hold the lines of 'tenantctl server hba %s' first, and nothing around them lets a login in without its password\n", name, name)
		} else {
			fmt.Fprintf(f.IO.Out, "server %s: the effective pg_hba.conf rules differ from the lines of 'tenantctl server hba %s':\n", name, name)
			for _, d := range out.Differences {
				fmt.Fprintf(f.IO.Out, "  %s\n", d)
			}
		}
		if !out.Same {
			return &cmdutil.CodeError{Code: cmdutil.ExitViolations, Err: cmdutil.ErrSilent}
		}
		return nil
	})
}
