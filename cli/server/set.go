package server

import (
	"context"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/tenantctl/tenantctl/catalog"
	"github.com/tenantctl/tenantctl/cli/cmdutil"
	"github.com/tenantctl/tenantctl/internal/validate"
	"github.com/tenantctl/tenantctl/provisioner"
)

// SetOptions are `server set`'s. The *Set fields say which flags were given.
type SetOptions struct {
	Factory *cmdutil.Factory
	Name    string

	// the warm pool
	Spares    int
	SetSpares bool

	// the registration: admin DSN, capacity and labels
	DSNFile     string
	DSNStdin    bool
	Capacity    int
	SetCapacity bool
	Labels      []string
	// SetRegistration is true when any of --dsn-file, --dsn-stdin, --capacity or --label
	// was given.
	SetRegistration bool

	// the operator's own databases on the server
	Allow, Disallow []string
	SetAllowed      bool
}

const serverSetHelp = `
--dsn-file FILE or --dsn-stdin changes the server's admin DSN (a rotated password, a new
host name after a failover): the new DSN must log in as the same admin role, with
CREATEDB and CREATEROLE (or superuser), and reach the same server — the same system
identifier (pg_control_system()) as through the old DSN, or, when the old one no longer
connects, a server holding every tenant database the catalog places there. Another
server is refused (exit 2) and nothing changes. The old DSN is forgotten: the catalog
keeps only the new one, sealed. The DSN is never taken on the command line.

--capacity N changes how many tenants the server may hold (not below what it holds).

--label k=v adds or changes a label, --label k- removes one (repeatable). A change that
would leave a tenant placed there without a label it requires is refused.`

const serverSetExamples = `
  tenantctl server set pg-a --dsn-file /etc/tenantctl/pg-a.dsn        # after rotating the admin password
  printf '%s' "$NEW_DSN" | tenantctl server set pg-a --dsn-stdin       # after a failover to a new host
  tenantctl server set pg-a --capacity 2000 --label zone=eu2 --label ssd-`

// NewCmdSet is `server set`; runF, when not nil, replaces the run.
func NewCmdSet(f *cmdutil.Factory, runF func(context.Context, *SetOptions) error) *cobra.Command {
	opts := &SetOptions{Factory: f}
	cmd := &cobra.Command{
		Use:   "set NAME [--spares N] [--capacity N] [--label k=v] [--dsn-file F | --dsn-stdin] [--allow-database DB]...",
		Short: "Change a server's settings: how many spare databases its warm pool keeps ready",
		Long: `Change a registered server's settings.

--spares N keeps N spare databases ready on the server: cloned from its current template,
hardened, with their roles created (NOLOGIN, no password) and opaque t_<id> names.
'tenant create' claims one in a single catalog transaction and one ALTER ROLE, instead of
cloning on demand. Spares count against the server's capacity. The pool is filled by
'tenantctl reconcile', 'tenantctl server refill' and the scheduler's pool job, never by
the command that claims a spare.

--allow-database DB (repeatable) declares a database of the operator's on the server
that accepts connections and is neither a tenant's nor tenantctl's (a monitoring or
reporting database): 'tenantctl audit' then stops reporting it as unknown
(server.databases), and still probes it with tenant credentials
(probe.other_database). --disallow-database DB withdraws a declaration.` + serverSetHelp,
		Example: `  tenantctl server set pg-a --spares 4
  tenantctl server refill pg-a
  tenantctl server set pg-a --allow-database reporting --allow-database pgbouncer
  tenantctl server set pg-a --disallow-database reporting` + serverSetExamples,
		Args: cmdutil.ExactArgs(1, "a server NAME"),
		RunE: cmdutil.RunE(opts, runF, runSet, func(cmd *cobra.Command, args []string) error {
			opts.Name = args[0]
			changed := cmd.Flags().Changed
			opts.SetSpares, opts.SetCapacity = changed("spares"), changed("capacity")
			opts.SetAllowed = changed("allow-database") || changed("disallow-database")
			opts.SetRegistration = changed("dsn-file") || changed("dsn-stdin") || changed("capacity") || changed("label")
			if !opts.SetSpares && !opts.SetAllowed && !opts.SetRegistration {
				return validate.Errorf("nothing to set: pass --spares N, --dsn-file F, --dsn-stdin, --capacity N, --label k=v or --allow-database DB")
			}
			if opts.SetSpares {
				if err := provisioner.CheckSpares(opts.Spares); err != nil {
					return err
				}
			}
			return nil
		}),
	}
	fl := cmd.Flags()
	fl.IntVar(&opts.Spares, "spares", 0, "spare databases to keep ready")
	fl.StringArrayVar(&opts.Allow, "allow-database", nil, "declare a database of yours on the server that accepts connections (repeatable): the audit stops reporting it as unknown and still probes it")
	fl.StringArrayVar(&opts.Disallow, "disallow-database", nil, "withdraw the declaration of a database (repeatable)")
	fl.StringVar(&opts.DSNFile, "dsn-file", "", "change the admin DSN to the one in this file (checked to reach the same server)")
	fl.BoolVar(&opts.DSNStdin, "dsn-stdin", false, "change the admin DSN to the one read from stdin")
	fl.IntVar(&opts.Capacity, "capacity", 0, "change how many tenants the server may hold")
	fl.StringArrayVar(&opts.Labels, "label", nil, "add or change a label k=v, or remove one with k- (repeatable)")
	cmd.Use = strings.Replace(cmd.Use, "NAME", "NAME [--dsn-file F | --dsn-stdin] [--capacity N] [--label k=v|k-]...", 1)
	return cmd
}

func runSet(ctx context.Context, opts *SetOptions) error {
	f := opts.Factory
	if opts.SetRegistration {
		if err := applyRegistration(ctx, opts); err != nil {
			return err
		}
	}
	if opts.SetAllowed {
		if err := setAllowedDatabases(ctx, opts); err != nil {
			return err
		}
	}
	if !opts.SetSpares {
		return nil
	}
	return f.WithProvisioner(ctx, func(p *provisioner.Provisioner) error {
		if err := p.Store.SetSpares(ctx, opts.Name, opts.Spares); err != nil {
			return err
		}
		fmt.Fprintf(f.IO.Out, "server %s: warm pool of %d spares (filled by reconcile, server refill and the scheduler)\n", opts.Name, opts.Spares)
		return nil
	})
}

// applyRegistration makes the changes to the admin DSN, capacity and labels, checking
// all of them first.
func applyRegistration(ctx context.Context, opts *SetOptions) error {
	f, name := opts.Factory, opts.Name
	if err := validate.ServerName(name); err != nil {
		return err
	}
	dsn, err := cmdutil.ReadDSNSource(f.IO.In, opts.DSNFile, opts.DSNStdin)
	if err != nil {
		return err
	}
	if opts.SetCapacity {
		// The library's rule, checked before any change: bad input changes nothing.
		if err := provisioner.CheckCapacity(opts.Capacity); err != nil {
			return err
		}
	}
	var set, remove []string
	for _, l := range opts.Labels {
		if k, ok := strings.CutSuffix(l, "-"); ok && !strings.Contains(l, "=") {
			remove = append(remove, k)
		} else {
			set = append(set, l)
		}
	}
	if _, err := validate.Labels(set); err != nil {
		return err
	}
	return f.WithProvisioner(ctx, func(p *provisioner.Provisioner) error {
		if _, err := p.Store.GetServer(ctx, name); err != nil {
			return err
		}
		if dsn != "" {
			srv, err := p.SetServerDSN(ctx, name, dsn)
			if err != nil {
				return err
			}
			fmt.Fprintf(f.IO.Out, "server %s: admin DSN changed (%s:%d as %s, same server); the old DSN is forgotten\n", name, srv.Host, srv.Port, srv.AdminRole)
		}
		if opts.SetCapacity {
			if err := p.SetServerCapacity(ctx, name, opts.Capacity); err != nil {
				return err
			}
			fmt.Fprintf(f.IO.Out, "server %s: capacity %d\n", name, opts.Capacity)
		}
		if len(opts.Labels) > 0 {
			labels, err := p.SetServerLabels(ctx, name, set, remove)
			if err != nil {
				return err
			}
			fmt.Fprintf(f.IO.Out, "server %s: labels %s\n", name, validate.FormatLabels(labels))
		}
		return nil
	})
}

// setAllowedDatabases records the declarations, after checking every name first, so
// that bad input changes nothing.
func setAllowedDatabases(ctx context.Context, opts *SetOptions) error {
	f, server := opts.Factory, opts.Name
	for _, db := range append(append([]string{}, opts.Allow...), opts.Disallow...) {
		if err := catalog.ValidDatabaseName(db); err != nil {
			return err
		}
	}
	return f.WithProvisioner(ctx, func(p *provisioner.Provisioner) error {
		if len(opts.Allow) > 0 {
			if err := p.Store.AllowDatabases(ctx, server, opts.Allow, true); err != nil {
				return err
			}
			fmt.Fprintf(f.IO.Out, "server %s: declared %s (the audit still probes them with tenant credentials)\n", server, strings.Join(opts.Allow, ", "))
		}
		if len(opts.Disallow) > 0 {
			if err := p.Store.AllowDatabases(ctx, server, opts.Disallow, false); err != nil {
				return err
			}
			fmt.Fprintf(f.IO.Out, "server %s: no longer declared: %s\n", server, strings.Join(opts.Disallow, ", "))
		}
		return nil
	})
}
