// Package access is `tenantctl access`: time-limited access of MSP staff to one tenant's
// database.
package access

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/tenantctl/tenantctl/catalog"
	"github.com/tenantctl/tenantctl/cli/cmdutil"
	"github.com/tenantctl/tenantctl/provisioner"
)

// NewCmdAccess is `tenantctl access`.
func NewCmdAccess(f *cmdutil.Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "access",
		Short: "Time-limited access of MSP staff to one tenant's database",
		Long: `Give an MSP login its own role on one tenant's database (msp_<login>_<tenant id>), with
read or write access, expiring at the server (VALID UNTIL) and in the catalog; default
24 hours. Grants are recorded in the event log; the audit treats them as expected;
reconcile drops expired ones; deleting a tenant revokes them.`,
	}
	cmd.AddCommand(NewCmdGrant(f, nil), NewCmdRevoke(f, nil), NewCmdList(f, nil), NewCmdDSN(f, nil))
	return cmd
}

// GrantOptions are `access grant`'s: the library's options as the flags give them.
type GrantOptions struct {
	Factory *cmdutil.Factory
	Grant   provisioner.GrantOptions
}

// NewCmdGrant is `access grant`; runF, when not nil, replaces the run.
func NewCmdGrant(f *cmdutil.Factory, runF func(context.Context, *GrantOptions) error) *cobra.Command {
	opts := &GrantOptions{Factory: f}
	g := &opts.Grant
	cmd := &cobra.Command{
		Use:     "grant LOGIN --tenant SLUG [--level read|write] [--expires DURATION|TIME|never] [--reason TEXT]",
		Short:   "Grant a login access to a tenant",
		Example: `  tenantctl access grant alice --tenant acme --level read --expires 8h --reason "INC-4711 data fix"`,
		Args:    cmdutil.ExactArgs(1, "a LOGIN"),
		RunE: cmdutil.RunE(opts, runF, runGrant, func(_ *cobra.Command, args []string) error {
			g.Login = args[0]
			_, err := g.Validate(time.Now())
			return err
		}),
	}
	cmd.Flags().StringVar(&g.Slug, "tenant", "", "the tenant (required)")
	cmd.Flags().StringVar(&g.Level, "level", "read", "read (SELECT) or write (DML)")
	cmd.Flags().StringVar(&g.Expires, "expires", "", "a duration (8h), an RFC 3339 time, or never (default 24h)")
	cmd.Flags().StringVar(&g.Reason, "reason", "", "why, for the event log (e.g. a ticket number)")
	return cmd
}

func runGrant(ctx context.Context, opts *GrantOptions) error {
	f := opts.Factory
	return f.WithProvisioner(ctx, func(p *provisioner.Provisioner) error {
		out, err := p.GrantAccess(ctx, opts.Grant)
		if err != nil {
			return err
		}
		return f.PrintResult(out, "%s has %s access to %s until %s (role %s); connect with: tenantctl access dsn %s --tenant %s\n",
			out.Login, out.Level, out.Slug, cmdutil.LocalTimeOr(out.ExpiresAt, "never"), out.Role, out.Login, out.Slug)
	})
}

// LoginOptions are those of `access revoke` and `access dsn`: a login and a tenant.
type LoginOptions struct {
	Factory *cmdutil.Factory
	Login   string
	Tenant  string
}

// newLoginCmd is `access revoke` or `access dsn`: a LOGIN and --tenant.
func newLoginCmd(f *cmdutil.Factory, use, short, example string, runF, run func(context.Context, *LoginOptions) error) *cobra.Command {
	opts := &LoginOptions{Factory: f}
	cmd := &cobra.Command{
		Use:     use + " LOGIN --tenant SLUG",
		Example: example,
		Short:   short,
		Args:    cmdutil.ExactArgs(1, "a LOGIN"),
		RunE:    cmdutil.RunE(opts, runF, run, cmdutil.Args(&opts.Login)),
	}
	cmd.Flags().StringVar(&opts.Tenant, "tenant", "", "the tenant (required)")
	return cmd
}

// NewCmdRevoke is `access revoke`; runF, when not nil, replaces the run.
func NewCmdRevoke(f *cmdutil.Factory, runF func(context.Context, *LoginOptions) error) *cobra.Command {
	return newLoginCmd(f, "revoke", "Revoke a login's access to a tenant (ends its sessions, drops its role)",
		"  tenantctl access revoke alice --tenant acme", runF, runRevoke)
}

func runRevoke(ctx context.Context, opts *LoginOptions) error {
	f := opts.Factory
	return f.WithProvisioner(ctx, func(p *provisioner.Provisioner) error {
		if err := p.RevokeAccess(ctx, opts.Login, opts.Tenant); err != nil {
			return err
		}
		fmt.Fprintf(f.IO.Out, "access of %s to %s revoked\n", opts.Login, opts.Tenant)
		return nil
	})
}

// NewCmdDSN is `access dsn`; runF, when not nil, replaces the run.
func NewCmdDSN(f *cmdutil.Factory, runF func(context.Context, *LoginOptions) error) *cobra.Command {
	return newLoginCmd(f, "dsn", "Print the connection string of a login's access (contains its password)",
		"  tenantctl access dsn alice --tenant acme     # prints alice's password inside the DSN: keep it off shared screens", runF, runDSN)
}

func runDSN(ctx context.Context, opts *LoginOptions) error {
	f := opts.Factory
	return f.WithProvisioner(ctx, func(p *provisioner.Provisioner) error {
		d, err := p.AccessDSN(ctx, opts.Login, opts.Tenant)
		if err != nil {
			return err
		}
		fmt.Fprintln(f.IO.Out, d)
		return nil
	})
}

// ListOptions are `access list`'s.
type ListOptions struct {
	Factory *cmdutil.Factory
	Tenant  string
	Login   string
}

// NewCmdList is `access list`; runF, when not nil, replaces the run.
func NewCmdList(f *cmdutil.Factory, runF func(context.Context, *ListOptions) error) *cobra.Command {
	opts := &ListOptions{Factory: f}
	cmd := &cobra.Command{
		Use:     "list [--tenant SLUG] [--login LOGIN]",
		Example: "  tenantctl access list\n  tenantctl access list --tenant acme -o json\n  tenantctl access list --login alice",
		Short:   "List access grants",
		Args:    cmdutil.NoArgs,
		RunE:    cmdutil.RunE(opts, runF, runList, nil),
	}
	cmd.Flags().StringVar(&opts.Tenant, "tenant", "", "only this tenant's grants")
	cmd.Flags().StringVar(&opts.Login, "login", "", "only this login's grants")
	return cmd
}

func runList(ctx context.Context, opts *ListOptions) error {
	grants := func(store *catalog.Store) ([]catalog.AccessGrant, error) {
		return store.ListAccessGrants(ctx, opts.Tenant, opts.Login)
	}
	return cmdutil.ListFromStore(ctx, opts.Factory, grants, []string{"TENANT", "LOGIN", "LEVEL", "EXPIRES", "ROLE", "GRANTED BY", "REASON"}, func(g catalog.AccessGrant) []any {
		return []any{g.Slug, g.Login, g.Level, cmdutil.LocalTimeOr(g.ExpiresAt, "never"), g.Role, g.GrantedBy, cmdutil.Dash(g.Reason)}
	})
}
